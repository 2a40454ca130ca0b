using System.Runtime.InteropServices;

namespace Engine.Cuda.Ops;

/// <summary>
/// Device memory as <see cref="CudaOps"/> and <see cref="DeviceArena"/> see it: raw allocations, zeroing and copies,
/// all ordered on one stream. <see cref="CudaDeviceMemory"/> is a GPU; <see cref="HostDeviceMemory"/> is host memory
/// standing in for it, so CudaOps runs through the kernel emulator on a machine without a GPU.
/// </summary>
public unsafe interface IDeviceMemory
{
    /// <summary>At least <paramref name="bytes"/> bytes, 256-byte aligned, owned until <see cref="Free"/> or disposal of the owner.</summary>
    nint Alloc(long bytes);

    void Free(nint ptr);

    /// <summary>Zeroes bytes (a multiple of 4) at ptr, in stream order.</summary>
    void Zero(nint ptr, long bytes);

    /// <summary>Device → device, in stream order.</summary>
    void Copy(nint dst, nint src, long bytes);

    /// <summary>Host → device; returns when the host memory may be reused (after the work queued before it).</summary>
    void Upload(nint dst, void* src, long bytes);

    /// <summary>Device → host; waits for the work queued before it.</summary>
    void Download(void* dst, nint src, long bytes);

    /// <summary>Waits until the device is done with everything queued.</summary>
    void Synchronize();

    /// <summary>Bytes held by allocations from this object now (as rounded when allocated).</summary>
    long BytesInUse { get; }

    /// <summary>The most <see cref="BytesInUse"/> has been.</summary>
    long PeakBytes { get; }
}

/// <summary>
/// A GPU's memory through a <see cref="CudaContext"/>: every copy and memset goes on the context's (non-blocking)
/// stream, never the legacy default stream, which would not wait for the kernels queued on it.
/// </summary>
public sealed unsafe class CudaDeviceMemory(CudaContext context) : IDeviceMemory
{
    public CudaContext Context { get; } = context;

    private readonly AllocationMeter _meter = new();

    public long BytesInUse => _meter.InUse;

    public long PeakBytes => _meter.Peak;

    public nint Alloc(long bytes)
    {
        long rounded = Round(bytes);
        nint p = (nint)Context.Alloc(rounded);
        _meter.Add(p, rounded);
        return p;
    }

    public void Free(nint ptr)
    {
        Context.Free((ulong)ptr);
        _meter.Remove(ptr);
    }

    public void Zero(nint ptr, long bytes)
    {
        if (bytes > 0) Context.ZeroAsync((ulong)ptr, bytes);
    }

    public void Copy(nint dst, nint src, long bytes)
    {
        if (bytes > 0) Context.CopyAsync((ulong)dst, (ulong)src, bytes);
    }

    public void Upload(nint dst, void* src, long bytes)
    {
        if (bytes == 0) return;
        Context.UploadAsync((ulong)dst, (nint)src, bytes);
        Context.Synchronize(); // pageable host memory: keep it alive until the copy is done
    }

    public void Download(void* dst, nint src, long bytes)
    {
        if (bytes == 0) return;
        Context.DownloadAsync((nint)dst, (ulong)src, bytes);
        Context.Synchronize();
    }

    public void Synchronize() => Context.Synchronize();

    private static long Round(long bytes) => (Math.Max(bytes, 1) + 255) & ~255L;
}

/// <summary>
/// Host memory posing as device memory, for running <see cref="CudaOps"/> through the kernel emulator: the same
/// allocations, zeroing and copies, done at once on the host. Tensors from it are still marked Device.Cuda, so any
/// code that touches "device" tensors from the host (AsSpan, F32) fails here as it would on a GPU.
/// </summary>
public sealed unsafe class HostDeviceMemory : IDeviceMemory, IDisposable
{
    private readonly AllocationMeter _blocks = new();
    private long _allocations;

    /// <summary>Allocations made so far (for tests that check a training step allocates nothing after the first).</summary>
    public long Allocations => Interlocked.Read(ref _allocations);

    public long BytesInUse => _blocks.InUse;

    public long PeakBytes => _blocks.Peak;

    public nint Alloc(long bytes)
    {
        Interlocked.Increment(ref _allocations);
        long rounded = (Math.Max(bytes, 1) + 255) & ~255L;
        nint p = (nint)NativeMemory.AlignedAlloc((nuint)rounded, 256);
        if (p == 0) throw new OutOfMemoryException($"host stand-in for device memory: {bytes} bytes");
        _blocks.Add(p, rounded);
        return p;
    }

    public void Free(nint ptr)
    {
        if (!_blocks.Remove(ptr)) throw new ArgumentException($"0x{ptr:x} was not allocated here", nameof(ptr));
        NativeMemory.AlignedFree((void*)ptr);
    }

    public void Zero(nint ptr, long bytes)
    {
        if (bytes % 4 != 0) throw new ArgumentException($"{bytes} bytes is not a whole number of 32-bit words", nameof(bytes));
        NativeMemory.Clear((void*)ptr, (nuint)bytes);
    }

    public void Copy(nint dst, nint src, long bytes) => Buffer.MemoryCopy((void*)src, (void*)dst, bytes, bytes);

    public void Upload(nint dst, void* src, long bytes) => Buffer.MemoryCopy(src, (void*)dst, bytes, bytes);

    public void Download(void* dst, nint src, long bytes) => Buffer.MemoryCopy((void*)src, dst, bytes, bytes);

    public void Synchronize()
    {
    }

    public void Dispose()
    {
        foreach (var p in _blocks.Clear()) NativeMemory.AlignedFree((void*)p);
    }
}
