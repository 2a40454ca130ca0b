using System.Runtime.InteropServices;
using Engine.Tensors;

namespace Engine.Memory;

/// <summary>
/// Host memory for tensors: 64-byte aligned native blocks, handed out by bumping a pointer (<see cref="BlockArena"/>).
/// Blocks are freed in <see cref="BlockArena.Dispose"/>, never by a finalizer.
/// </summary>
public sealed unsafe class NativeArena(long blockSize = 64L << 20) : BlockArena(blockSize, Alignment, Device.Cpu)
{
    public const int Alignment = 64;

    protected override nint AllocateBlock(long size)
    {
        nint p = (nint)NativeMemory.AlignedAlloc((nuint)size, Alignment);
        return p != 0 ? p : throw new OutOfMemoryException($"native arena could not allocate {size} bytes");
    }

    protected override void FreeBlock(nint ptr) => NativeMemory.AlignedFree((void*)ptr);

    protected override void Zero(nint ptr, long bytes) => NativeMemory.Clear((void*)ptr, (nuint)bytes);

    protected override void CopyIn(nint dst, void* src, long bytes) => Buffer.MemoryCopy(src, (void*)dst, bytes, bytes);

    protected override void CopyOut(void* dst, nint src, long bytes) => Buffer.MemoryCopy((void*)src, dst, bytes, bytes);
}
