using Engine.Memory;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>
/// <see cref="NativeArena"/>'s bump allocator over device memory: the same blocks-and-rewind scheme
/// (<see cref="BlockArena"/>), so Workspace, ParameterStore and the models run unchanged on a GPU. Tensors are marked
/// Device.Cuda; zeroing is a memset in stream order.
/// </summary>
public sealed unsafe class DeviceArena(IDeviceMemory memory, long blockSize = 256L << 20) : BlockArena(blockSize, Alignment, Device.Cuda)
{
    /// <summary>cudaMalloc's alignment; also keeps every tensor a whole number of 32-bit words for the memset.</summary>
    public const int Alignment = 256;

    protected override nint AllocateBlock(long size) => memory.Alloc(size);

    protected override void FreeBlock(nint ptr) => memory.Free(ptr);

    protected override void Zero(nint ptr, long bytes) => memory.Zero(ptr, (bytes + 3) & ~3L);

    protected override void CopyIn(nint dst, void* src, long bytes) => memory.Upload(dst, src, bytes);

    protected override void CopyOut(void* dst, nint src, long bytes) => memory.Download(dst, src, bytes);
}
