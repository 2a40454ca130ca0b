using System.Runtime.InteropServices;
using System.Text;
using Engine.Cuda.Interop;
using Engine.Tensors;

namespace Engine.Cuda;

/// <summary>
/// One GPU: the device's primary context, one stream, every device allocation made through it, and the
/// kernel modules loaded so far. Device memory is freed in <see cref="Dispose"/> (never by a finalizer: freeing
/// needs the context current on the calling thread, which a finalizer thread cannot promise).
/// </summary>
public sealed unsafe class CudaContext : IKernelRunner, IDisposable
{
    private readonly HashSet<ulong> _allocations = [];
    private readonly HashSet<nint> _pinned = [];
    private readonly Dictionary<string, nint> _modules = [];
    private readonly Dictionary<string, nint> _functions = [];
    private readonly KernelCompiler _compiler;
    private bool _disposed;

    private CudaContext(int ordinal, KernelCompiler compiler)
    {
        _compiler = compiler;
        int device;
        CuDriver.Check(CuDriver.cuDeviceGet(&device, ordinal), $"cuDeviceGet({ordinal})");
        Device = device;
        Ordinal = ordinal;
        byte* name = stackalloc byte[256];
        CuDriver.Check(CuDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        DeviceName = Marshal.PtrToStringUTF8((nint)name) ?? "?";
        ComputeCapability = (Attribute(CuDriver.AttrComputeCapabilityMajor), Attribute(CuDriver.AttrComputeCapabilityMinor));
        MultiprocessorCount = Attribute(CuDriver.AttrMultiprocessorCount);
        nuint total;
        CuDriver.Check(CuDriver.cuDeviceTotalMem_v2(&total, device), "cuDeviceTotalMem_v2");
        TotalMemory = (long)total;
        nint ctx;
        CuDriver.Check(CuDriver.cuDevicePrimaryCtxRetain(&ctx, device), "cuDevicePrimaryCtxRetain");
        Context = ctx;
        CuDriver.Check(CuDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
        nint stream;
        CuDriver.Check(CuDriver.cuStreamCreate(&stream, CuDriver.StreamNonBlocking), "cuStreamCreate");
        Stream = stream;
    }

    public int Ordinal { get; }

    public int Device { get; }

    public string DeviceName { get; }

    public (int Major, int Minor) ComputeCapability { get; }

    public int Sm => ComputeCapability.Major * 10 + ComputeCapability.Minor;

    public int MultiprocessorCount { get; }

    public long TotalMemory { get; }

    public nint Context { get; }

    public nint Stream { get; }

    public string Name => $"cuda:{Ordinal} ({DeviceName}, sm_{Sm})";

    /// <summary>Opens device <paramref name="ordinal"/>; throws <see cref="CudaException"/> with the reason when there is none.</summary>
    public static CudaContext Create(int ordinal = 0, KernelCompiler? compiler = null)
    {
        NativeLibraryResolver.Load(CudaLibrary.Driver);
        CuDriver.Check(CuDriver.cuInit(0), "cuInit");
        int count;
        CuDriver.Check(CuDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal >= count) throw new CudaException($"no CUDA device {ordinal} ({count} found)");
        return new CudaContext(ordinal, compiler ?? new KernelCompiler());
    }

    /// <summary>
    /// A context, or null and a one-line reason (no driver, no device, no NVRTC...). The CLI prints the reason
    /// and falls back to the CPU backend.
    /// </summary>
    public static CudaContext? TryCreate(out string reason, int ordinal = 0)
    {
        try
        {
            var ctx = Create(ordinal);
            reason = "";
            return ctx;
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            reason = "no usable CUDA GPU: " + e.Message.ReplaceLineEndings(" ");
            return null;
        }
    }

    public int Attribute(int attribute)
    {
        int value;
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(&value, attribute, Device), $"cuDeviceGetAttribute({attribute})");
        return value;
    }

    public (long Free, long Total) MemoryInfo()
    {
        nuint free, total;
        CuDriver.Check(CuDriver.cuMemGetInfo_v2(&free, &total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    /// <summary>Device memory owned by this context until <see cref="Free"/> or <see cref="Dispose"/>.</summary>
    public ulong Alloc(long bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong ptr;
        CuDriver.Check(CuDriver.cuMemAlloc_v2(&ptr, (nuint)Math.Max(bytes, 1)), $"cuMemAlloc_v2({bytes} bytes)");
        _allocations.Add(ptr);
        return ptr;
    }

    /// <summary>
    /// A device tensor; zeroed (when <paramref name="zero"/>) on this context's stream, so the zeroing is ordered
    /// before any kernel queued after it. The allocation is rounded up to whole 32-bit words for that memset.
    /// </summary>
    public Tensor AllocTensor(Shape shape, DType dtype = DType.F32, bool zero = true)
    {
        long bytes = checked(shape.Numel * dtype.SizeOf());
        long rounded = (bytes + 3) / 4 * 4;
        ulong ptr = Alloc(rounded);
        // Not the synchronous cuMemsetD8_v2: that runs on the legacy NULL stream, which does not wait for (nor is
        // waited for by) this context's non-blocking stream, so a kernel could read the buffer before it is zeroed.
        if (zero && rounded > 0) ZeroAsync(ptr, rounded);
        return new Tensor((nint)ptr, shape, dtype, Engine.Tensors.Device.Cuda);
    }

    public void Free(ulong ptr)
    {
        if (!_allocations.Remove(ptr)) throw new ArgumentException($"0x{ptr:x} was not allocated by this context", nameof(ptr));
        CuDriver.Check(CuDriver.cuMemFree_v2(ptr), "cuMemFree_v2");
    }

    /// <summary>Zeroes <paramref name="bytes"/> bytes at <paramref name="ptr"/> on this context's stream (bytes a multiple of 4).</summary>
    public void ZeroAsync(ulong ptr, long bytes)
    {
        if (bytes % 4 != 0) throw new ArgumentException($"{bytes} bytes is not a whole number of 32-bit words", nameof(bytes));
        CuDriver.Check(CuDriver.cuMemsetD32Async(ptr, 0, (nuint)(bytes / 4), Stream), $"cuMemsetD32Async({bytes} bytes)");
    }

    /// <summary>Page-locked host memory (fast, truly asynchronous copies), owned by this context until Dispose or FreePinned.</summary>
    public nint AllocPinned(long bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        void* p;
        CuDriver.Check(CuDriver.cuMemAllocHost_v2(&p, (nuint)Math.Max(bytes, 1)), $"cuMemAllocHost_v2({bytes} bytes)");
        _pinned.Add((nint)p);
        return (nint)p;
    }

    public void FreePinned(nint host)
    {
        if (!_pinned.Remove(host)) throw new ArgumentException($"0x{host:x} was not allocated by this context", nameof(host));
        CuDriver.Check(CuDriver.cuMemFreeHost((void*)host), "cuMemFreeHost");
    }

    /// <summary>Copy on this context's stream; the host memory must stay valid (and should be pinned) until the stream is synchronized.</summary>
    public void UploadAsync(ulong dst, nint host, long bytes) =>
        CuDriver.Check(CuDriver.cuMemcpyHtoDAsync_v2(dst, (void*)host, (nuint)bytes, Stream), $"cuMemcpyHtoDAsync_v2({bytes} bytes)");

    public void DownloadAsync(nint host, ulong src, long bytes) =>
        CuDriver.Check(CuDriver.cuMemcpyDtoHAsync_v2((void*)host, src, (nuint)bytes, Stream), $"cuMemcpyDtoHAsync_v2({bytes} bytes)");

    public void CopyAsync(ulong dst, ulong src, long bytes) =>
        CuDriver.Check(CuDriver.cuMemcpyDtoDAsync_v2(dst, src, (nuint)bytes, Stream), $"cuMemcpyDtoDAsync_v2({bytes} bytes)");

    // Upload and Download go on this context's stream, after the work already queued there, and wait for the copy:
    // the synchronous cuMemcpyHtoD_v2/DtoH_v2 would run on the legacy NULL stream, which a non-blocking stream does
    // not synchronize with (a download could read a buffer before the kernel writing it ran; an upload could land
    // after a kernel that reads it started). The wait keeps the span's memory pinned (fixed) until the copy is done.

    /// <summary>Host → device on this context's stream, in order after the work queued before it; returns when the copy is done.</summary>
    public void Upload(ulong dst, ReadOnlySpan<byte> src)
    {
        if (src.Length == 0) return;
        fixed (byte* p = src)
        {
            CuDriver.Check(CuDriver.cuMemcpyHtoDAsync_v2(dst, p, (nuint)src.Length, Stream), $"cuMemcpyHtoDAsync_v2({src.Length} bytes)");
            Synchronize();
        }
    }

    /// <summary>Device → host on this context's stream, after the work queued before it (the kernels writing src); returns when the data is here.</summary>
    public void Download(Span<byte> dst, ulong src)
    {
        if (dst.Length == 0) return;
        fixed (byte* p = dst)
        {
            CuDriver.Check(CuDriver.cuMemcpyDtoHAsync_v2(p, src, (nuint)dst.Length, Stream), $"cuMemcpyDtoHAsync_v2({dst.Length} bytes)");
            Synchronize();
        }
    }

    public void Upload<T>(ulong dst, ReadOnlySpan<T> src) where T : unmanaged => Upload(dst, MemoryMarshal.AsBytes(src));

    public void Download<T>(Span<T> dst, ulong src) where T : unmanaged => Download(MemoryMarshal.AsBytes(dst), src);

    public void Synchronize() => CuDriver.Check(CuDriver.cuStreamSynchronize(Stream), "cuStreamSynchronize");

    public void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, void** args)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        nint function = Function(kernel);
        CuDriver.Check(CuDriver.cuLaunchKernel(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, Stream, args, null),
                       $"cuLaunchKernel({kernel}, grid {grid.X}x{grid.Y}x{grid.Z}, block {block.X}x{block.Y}x{block.Z})");
    }

    /// <summary>The kernel's function handle; the first use of a file compiles it (or reads the cache) and loads its module.</summary>
    private nint Function(string kernel)
    {
        if (_functions.TryGetValue(kernel, out nint f)) return f;
        var source = KernelSources.ForEntry(kernel);
        if (!_modules.TryGetValue(source.File, out nint module))
        {
            byte[] image = _compiler.GetImage(source, Sm);
            fixed (byte* p = image) CuDriver.Check(CuDriver.cuModuleLoadData(&module, p), $"cuModuleLoadData({source.File}, sm_{Sm})");
            _modules[source.File] = module;
        }
        byte[] name = Encoding.UTF8.GetBytes(kernel + "\0");
        fixed (byte* p = name) CuDriver.Check(CuDriver.cuModuleGetFunction(&f, module, p), $"cuModuleGetFunction({kernel})");
        _functions[kernel] = f;
        return f;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // Best effort on the way out: report nothing, free everything.
        _ = CuDriver.cuCtxSetCurrent(Context);
        _ = CuDriver.cuStreamSynchronize(Stream);
        foreach (var ptr in _allocations) _ = CuDriver.cuMemFree_v2(ptr);
        _allocations.Clear();
        foreach (var host in _pinned) _ = CuDriver.cuMemFreeHost((void*)host);
        _pinned.Clear();
        foreach (var module in _modules.Values) _ = CuDriver.cuModuleUnload(module);
        _ = CuDriver.cuStreamDestroy_v2(Stream);
        _ = CuDriver.cuDevicePrimaryCtxRelease_v2(Device);
    }
}
