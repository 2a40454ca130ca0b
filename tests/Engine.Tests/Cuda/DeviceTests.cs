using Engine.Cuda;
using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tests.Reference;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// The kernels on a real GPU against the CPU twins. Skipped with "no CUDA device" where there is none (CI, and
/// every machine this code was written on: none of these has run yet, see docs/gpu.md).
/// </summary>
public sealed class DeviceTests : IDisposable
{
    private readonly CudaContext? _ctx;
    private readonly string _reason;

    public DeviceTests() => _ctx = CudaContext.TryCreate(out _reason);

    public void Dispose() => _ctx?.Dispose();

    private CudaContext Gpu()
    {
        Skip.If(_ctx is null, "no CUDA device (" + _reason + ")");
        return _ctx!;
    }

    private ulong Up<T>(T[] data) where T : unmanaged
    {
        var ctx = Gpu();
        ulong p = ctx.Alloc((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        ctx.Upload<T>(p, data);
        return p;
    }

    private T[] Down<T>(ulong p, int n) where T : unmanaged
    {
        var a = new T[n];
        Gpu().Synchronize();
        Gpu().Download<T>(a, p);
        return a;
    }

    [SkippableFact]
    public void Device_ReportsComputeCapabilityAndMemory()
    {
        var ctx = Gpu();
        Assert.True(ctx.Sm >= 50, ctx.Name);
        var (free, total) = ctx.MemoryInfo();
        Assert.InRange(free, 1, total);
    }

    [SkippableFact]
    public void Axpy_MatchesHost()
    {
        var ctx = Gpu();
        const int n = 100_003;
        float[] x = OpHarness.ToFloat(OpHarness.Randn(n, 1)), y = OpHarness.ToFloat(OpHarness.Randn(n, 2));
        ulong dx = Up(x), dy = Up(y);
        ElementwiseKernels.AxpyF32(ctx, (nint)dy, 0.5f, (nint)dx, n);
        var expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = 0.5f * x[i] + y[i]; // two roundings, as CpuOps.Axpy
        Close.Bitwise("axpy", Down<float>(dy, n), expected);
    }

    [SkippableFact]
    public void Philox_UniformBitwise_NormalClose()
    {
        var ctx = Gpu();
        const int n = 10_001;
        ulong du = ctx.Alloc(4 * n), dz = ctx.Alloc(4 * n);
        PhiloxKernels.Uniform(ctx, (nint)du, n, 42, 5);
        PhiloxKernels.Normal(ctx, (nint)dz, n, 42, 5);
        Close.Bitwise("uniform", Down<float>(du, n), PhiloxReference(n, 42, 5, false));
        Close.Assert("normal", Down<float>(dz, n), PhiloxReference(n, 42, 5, true), rtol: 1e-5, atol: 1e-6);
    }

    [SkippableTheory]
    [InlineData(SurgeryRule.Official)]
    [InlineData(SurgeryRule.Projection)]
    public void Surgery_MatchesCpuTwin(SurgeryRule rule)
    {
        var ctx = Gpu();
        var segments = SegmentTable.FromSizes([100_000, 13, 0, 1, 5000]);
        var table = new ChunkTable(segments);
        var spec = new SurgerySpec(1f, 1f, rule);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, [-1, 1, 1, -1, -1], seed: 17);
        int n = (int)segments.Total, nseg = segments.Count;
        using var h = new OpHarness(2);
        var tu = h.Tensor(gu, n);
        var cpuStats = h.Zeros(nseg + 1, 4);
        h.Ops.GradientSurgery(tu, cpuStats, h.Tensor(gr, n), segments, spec);

        ulong u = Up(OpHarness.ToFloat(gu)), r = Up(OpHarness.ToFloat(gr));
        ulong stats = ctx.Alloc(16 * (nseg + 1)), coef = ctx.Alloc(8 * nseg), partial = ctx.Alloc(24 * table.Count);
        ulong begin = Up(table.ChunkBegin), end = Up(table.ChunkEnd), first = Up(table.SegFirstChunk), segOf = Up(table.ChunkSegment);
        SurgeryKernels.Run(ctx, (nint)u, (nint)r, (nint)stats, spec, table, (nint)begin, (nint)end, (nint)first, (nint)segOf, (nint)partial, (nint)coef);
        Close.Assert("g_u", Down<float>(u, n), tu.AsSpan().ToArray(), rtol: 1e-5, atol: 1e-7);
        Close.Assert("stats", Down<float>(stats, 4 * (nseg + 1)), cpuStats.AsSpan().ToArray(), rtol: 1e-5, atol: 1e-6);
    }

    [SkippableTheory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void CublasGemm_RowMajor_MatchesHost(bool transA, bool transB)
    {
        var ctx = Gpu();
        const int M = 7, N = 13, K = 77, batch = 3;
        float[] a = OpHarness.ToFloat(OpHarness.Randn(batch * M * K, 1)), b = OpHarness.ToFloat(OpHarness.Randn(batch * K * N, 2));
        ulong da = Up(a), db = Up(b), dc = ctx.Alloc(4L * batch * M * N);
        using var blas = new CublasHandle(ctx);
        blas.GemmStridedBatched(transA, transB, M, N, K, 1f, da, M * K, db, K * N, 0f, dc, M * N, batch);
        var expected = new double[batch * M * N];
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    double acc = 0;
                    for (int k = 0; k < K; k++)
                        acc += (double)a[p * M * K + (transA ? k * M + i : i * K + k)] * b[p * K * N + (transB ? j * K + k : k * N + j)];
                    expected[p * M * N + i * N + j] = acc;
                }
        Close.Assert("gemm", Down<float>(dc, batch * M * N), expected, rtol: 1e-4, atol: 1e-4);
    }

    private static float[] PhiloxReference(int n, ulong seed, ulong offset, bool normal)
    {
        var y = new float[n];
        if (normal) Engine.Rng.Philox.FillNormal(y, seed, offset); else Engine.Rng.Philox.FillUniform(y, seed, offset);
        return y;
    }
}
