using Engine.Cpu;
using Engine.Ops;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// The GEMM mapping and conv2d of CudaOps. First the emulated cuBLAS is pinned to cublasGemmStridedBatchedEx's
/// column-major contract by a plain loop (so it is not just CudaOps's mapping run backwards); then CudaOps.Gemm
/// (row-major, every transpose pair, padded leading dimensions, batch strides including a broadcast 0, alpha/beta)
/// and Conv2dForward/Backward (the batched, the banded and the 1×1 paths, strides, padding, rectangular kernels,
/// accumulated parameter gradients, None gradients) against CpuOps.
/// </summary>
public class CudaOpsGemmConvTests
{
    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public unsafe void EmulatedCublas_IsColumnMajor(bool ta, bool tb)
    {
        const int m = 5, n = 7, k = 3, batch = 2, lda = 9, ldb = 8, ldc = 6;
        long sa = lda * 9, sb = ldb * 9, sc = ldc * 9;
        var a = Pinned.Floats(OpHarness.Randn((int)(batch * sa), 61));
        var b = Pinned.Floats(OpHarness.Randn((int)(batch * sb), 62));
        var c = Pinned.Floats(OpHarness.Randn((int)(batch * sc), 63));
        var expected = (float[])c.Clone();
        float alpha = 0.5f, beta = -2f;
        // Column-major: X(i, j) = X[i + j·ld]; op(A)(i, p) = A(p, i) when transposed.
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = ta ? a[bi * sa + p + i * lda] : a[bi * sa + i + p * lda];
                        double bv = tb ? b[bi * sb + j + p * ldb] : b[bi * sb + p + j * ldb];
                        s += av * bv;
                    }
                    long ci = bi * sc + i + j * ldc;
                    expected[ci] = (float)(alpha * s + beta * c[ci]);
                }
        new EmulatedGemmEngine(new CpuOps(1)).GemmStridedBatched(ta, tb, m, n, k, alpha, Pinned.Ptr(a), lda, sa, Pinned.Ptr(b), ldb, sb,
                                                                  beta, Pinned.Ptr(c), ldc, sc, batch);
        Close.Assert("column-major GEMM", c, expected, rtol: 1e-5, atol: 1e-5);
        Assert.Throws<InvalidOperationException>(() => new EmulatedGemmEngine(new CpuOps(1)).GemmStridedBatched(
            ta, tb, m, n, k, 1, Pinned.Ptr(a), 2, sa, Pinned.Ptr(b), ldb, sb, 0, Pinned.Ptr(c), ldc, sc, 1));
    }

    [SkippableTheory]
    [InlineData(false, false, 1)]
    [InlineData(false, true, 3)]
    [InlineData(true, false, 2)]
    [InlineData(true, true, 3)]
    public void Gemm_MatchesCpuOps(bool ta, bool tb, int batch)
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        const int M = 13, N = 7, K = 77;
        int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
        long sa = batch == 3 ? 0 : (long)lda * (ta ? K : M), sb = (long)ldb * (tb ? N : K) + 5, sc = (long)ldc * M;
        var spec = new GemmSpec(M, N, K, ta, tb, lda, ldb, ldc, sa, sb, sc, batch, Alpha: 0.75f, Beta: 0.5f);
        int na = (int)spec.ExtentA, nb = (int)spec.ExtentB, nc = (int)spec.ExtentC;
        double[] a = OpHarness.Randn(na, 64), b = OpHarness.Randn(nb, 65), c = OpHarness.Randn(nc, 66);
        var cc = h.Tensor(c, nc);
        var dc = e.Dev(c, nc);
        h.Ops.Gemm(cc, h.Tensor(a, na), h.Tensor(b, nb), spec);
        e.Ops.Gemm(dc, e.Dev(a, na), e.Dev(b, nb), spec);
        Close.Assert("gemm", e.Get(dc), cc.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Assert.Throws<ArgumentException>(() => e.Ops.Gemm(e.Zeros(nc - 1), e.Dev(a, na), e.Dev(b, nb), spec));
    }

    public static TheoryData<Conv2dSpec, long> ConvCases => new()
    {
        { new Conv2dSpec(2, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1), 64L << 20 },       // 3×3 same padding, all images in one batched GEMM
        { new Conv2dSpec(2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1), 64L << 20 },       // the UNet's stride-2 downsample
        { new Conv2dSpec(3, 5, 6, 7, 4, 1, 1), 64L << 20 },                   // 1×1: no columns
        { new Conv2dSpec(2, 3, 11, 9, 4, 5, 3, 2, 1, 2, 0), 3L * 5 * 3 * 9 * 2 }, // rectangular, bands of two output rows
        { new Conv2dSpec(1, 2, 7, 7, 3, 3, 3, 1, 1, 0, 0), 64L << 20 },       // batch 1, no padding
    };

    [SkippableTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2d_MatchesCpuOps(Conv2dSpec s, long maxColumnFloats)
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        e.Ops.MaxColumnFloats = maxColumnFloats;
        int[] xs = s.XShape.ToArray(), ws = s.WeightShape.ToArray(), ys = s.YShape.ToArray();
        int nx = (int)s.XShape.Numel, nw = (int)s.WeightShape.Numel, ny = (int)s.YShape.Numel;
        double[] x = OpHarness.Randn(nx, 71), w = OpHarness.Randn(nw, 72, 0.3), bias = OpHarness.Randn(s.K, 73), dy = OpHarness.Randn(ny, 74);

        var cy = h.Zeros(ys);
        var dyo = e.Zeros(ys);
        h.Ops.Conv2dForward(cy, h.Tensor(x, xs), h.Tensor(w, ws), h.Tensor(bias, s.K), s);
        e.Ops.Conv2dForward(dyo, e.Dev(x, xs), e.Dev(w, ws), e.Dev(bias, s.K), s);
        Close.Assert("conv forward", e.Get(dyo), cy.AsSpan(), rtol: 1e-5, atol: 1e-5);

        // Parameter gradients pre-filled with w and bias: both backends must add to them.
        Tensor cdx = h.Zeros(xs), ddx = e.Zeros(xs), cdw = h.Tensor(w, ws), ddw = e.Dev(w, ws), cdb = h.Tensor(bias, s.K), ddb = e.Dev(bias, s.K);
        h.Ops.Conv2dBackward(cdx, cdw, cdb, h.Tensor(dy, ys), h.Tensor(x, xs), h.Tensor(w, ws), s);
        e.Ops.Conv2dBackward(ddx, ddw, ddb, e.Dev(dy, ys), e.Dev(x, xs), e.Dev(w, ws), s);
        Close.Assert("conv dx", e.Get(ddx), cdx.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Close.Assert("conv dweight (accumulated)", e.Get(ddw), cdw.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Close.Assert("conv dbias (accumulated)", e.Get(ddb), cdb.AsSpan(), rtol: 1e-5, atol: 1e-5);

        // Only dx: a frozen layer.
        var ddx2 = e.Zeros(xs);
        e.Ops.Conv2dBackward(ddx2, Tensor.None, Tensor.None, e.Dev(dy, ys), Tensor.None, e.Dev(w, ws), s);
        Close.Bitwise("conv dx alone", e.Get(ddx2), e.Get(ddx));
        Assert.Throws<ArgumentException>(() => e.Ops.Conv2dForward(e.Zeros(ys), e.Dev(x, xs), e.Zeros(s.K, s.C + 1, s.R, s.S), Tensor.None, s));
    }
}
