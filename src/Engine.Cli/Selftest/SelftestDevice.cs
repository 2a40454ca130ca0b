using System.Runtime.InteropServices;
using Engine.Cpu;
using Engine.Cuda;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Cli.Selftest;

/// <summary>
/// Where the kernel side of a self-test runs: a GPU (<see cref="CudaDevice"/>), or in the test suite the CPU
/// emulator, whose "device" memory is host memory. The CPU side always runs on <see cref="CpuOps"/>.
/// </summary>
internal interface ISelftestDevice
{
    IKernelRunner Runner { get; }

    /// <summary>The context, for cuBLAS; null where there is no real GPU (those ops are skipped).</summary>
    CudaContext? Cuda { get; }

    nint Alloc(long bytes);

    void Upload(nint dst, ReadOnlySpan<byte> src);

    void Download(Span<byte> dst, nint src);

    void Synchronize();
}

/// <summary>A real GPU; every allocation is freed when the context is disposed.</summary>
internal sealed class CudaDevice(CudaContext ctx) : ISelftestDevice
{
    public IKernelRunner Runner => ctx;

    public CudaContext? Cuda => ctx;

    public nint Alloc(long bytes)
    {
        long rounded = (bytes + 3) / 4 * 4; // ZeroAsync clears whole 32-bit words
        ulong p = ctx.Alloc(rounded);
        ctx.ZeroAsync(p, rounded);
        return (nint)p;
    }

    // Both copy on the context's stream, ordered after the kernels queued before them (and the zeroing in Alloc),
    // and wait for the copy; no NULL-stream copies, which the context's non-blocking stream would not wait for.
    public void Upload(nint dst, ReadOnlySpan<byte> src) => ctx.Upload((ulong)dst, src);

    public void Download(Span<byte> dst, nint src) => ctx.Download(dst, (ulong)src);

    public void Synchronize() => ctx.Synchronize();
}

/// <summary>
/// Everything one self-test needs: random data, the CPU ops with host tensors, device buffers. Inputs are
/// generated once per op from a fixed seed, so a failure repeats.
/// </summary>
internal sealed class SelftestRig(ISelftestDevice device, int seed) : IDisposable
{
    private readonly Random _random = new(seed);

    public ISelftestDevice Device { get; } = device;

    public IKernelRunner Gpu => Device.Runner;

    public CpuOps Cpu { get; } = new();

    public NativeArena Arena { get; } = new(16L << 20);

    /// <summary>n normal samples times <paramref name="scale"/> (Box–Muller on the rig's seeded generator).</summary>
    public float[] Randn(long n, double scale = 1.0)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++)
        {
            double u = 1.0 - _random.NextDouble(), v = _random.NextDouble();
            a[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }
        return a;
    }

    public float[] Uniform(long n, double lo, double hi)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * _random.NextDouble());
        return a;
    }

    public int[] Ints(long n, int max)
    {
        var a = new int[n];
        for (long i = 0; i < n; i++) a[i] = _random.Next(max);
        return a;
    }

    /// <summary>A host tensor holding <paramref name="data"/>.</summary>
    public Tensor Host(float[] data, params int[] dims)
    {
        var t = Arena.Alloc(new Shape(dims));
        if (t.Numel != data.Length) throw new ArgumentException($"{data.Length} values for shape {t.Shape}");
        data.CopyTo(t.AsSpan());
        return t;
    }

    public Tensor HostInts(int[] data, params int[] dims)
    {
        var t = Arena.Alloc(new Shape(dims), DType.I32);
        data.CopyTo(t.AsIntSpan());
        return t;
    }

    public Tensor HostZeros(params int[] dims) => Arena.Alloc(new Shape(dims));

    /// <summary>A device copy of <paramref name="data"/>.</summary>
    public nint Dev<T>(T[] data) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        nint p = Device.Alloc(bytes.Length);
        Device.Upload(p, bytes);
        return p;
    }

    /// <summary>A device copy of a host tensor's floats.</summary>
    public nint Dev(Tensor t) => Dev(t.AsSpan().ToArray());

    /// <summary>Zeroed device memory for <paramref name="count"/> elements of T.</summary>
    public nint DevZeros<T>(long count) where T : unmanaged => Device.Alloc(Math.Max(1, count) * Marshal.SizeOf<T>());

    public float[] Get(nint p, long n)
    {
        var a = new float[n];
        Device.Download(MemoryMarshal.AsBytes(a.AsSpan()), p);
        return a;
    }

    public static float[] Get(Tensor t) => t.AsSpan().ToArray();

    public static float[] Cat(params float[][] parts) => [.. parts.SelectMany(p => p)];

    public void Dispose() => Arena.Dispose();
}
