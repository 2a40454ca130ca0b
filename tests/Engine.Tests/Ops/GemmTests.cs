using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Cpu;
using Engine.Cpu.Sgemm;
using Engine.Ops;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class GemmTests
{
    /// <summary>Every kernel this CPU can run, so the AVX2 and scalar fallbacks are checked on an AVX-512 machine too.</summary>
    public static TheoryData<GemmKernel> Kernels()
    {
        var d = new TheoryData<GemmKernel> { GemmKernel.Scalar };
        if (Avx2.IsSupported && Fma.IsSupported) d.Add(GemmKernel.Avx2);
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated) d.Add(GemmKernel.Avx512);
        return d;
    }

    /// <summary>C_b = alpha · op(A_b) · op(B_b) + beta · C_b in double, reading C only when beta ≠ 0 (as BLAS does).</summary>
    private static double[] Reference(in GemmSpec s, double[] a, double[] b, double[] c0)
    {
        var c = (double[])c0.Clone();
        for (int bi = 0; bi < s.Batch; bi++)
        {
            for (int i = 0; i < s.M; i++)
            {
                for (int j = 0; j < s.N; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < s.K; p++)
                    {
                        double av = s.TransA ? a[bi * s.StrideA + (long)p * s.Lda + i] : a[bi * s.StrideA + (long)i * s.Lda + p];
                        double bv = s.TransB ? b[bi * s.StrideB + (long)j * s.Ldb + p] : b[bi * s.StrideB + (long)p * s.Ldb + j];
                        sum += av * bv;
                    }
                    long ci = bi * s.StrideC + (long)i * s.Ldc + j;
                    c[ci] = s.Alpha * sum + (s.Beta == 0 ? 0 : s.Beta * c[ci]);
                }
            }
        }
        return c;
    }

    private static float[] RunOps(CpuOps ops, OpHarness h, in GemmSpec s, double[] a, double[] b, double[] c0)
    {
        var ta = h.Tensor(a, a.Length);
        var tb = h.Tensor(b, b.Length);
        var tc = h.Tensor(c0, c0.Length);
        ops.Gemm(tc, ta, tb, s);
        return tc.AsSpan().ToArray();
    }

    private static void Check(GemmKernel kernel, GemmSpec s, int seed, bool nanC = false)
    {
        using var h = new OpHarness();
        h.Ops.GemmKernel = kernel;
        var a = OpHarness.Randn((int)Math.Max(1, s.ExtentA), seed);
        var b = OpHarness.Randn((int)Math.Max(1, s.ExtentB), seed + 1);
        var c0 = OpHarness.Randn((int)Math.Max(1, s.ExtentC), seed + 2);
        if (nanC) Array.Fill(c0, double.NaN);
        var expected = Reference(s, a, b, c0);
        var got = RunOps(h.Ops, h, s, a, b, c0);
        Close.Assert($"gemm {kernel} {s}", got, expected, 1e-4, 1e-4 * Math.Sqrt(Math.Max(1, s.K)));
    }

    public static TheoryData<GemmKernel, int, int, int, bool, bool> Shapes()
    {
        var d = new TheoryData<GemmKernel, int, int, int, bool, bool>();
        int[][] sizes = [[1, 1, 1], [7, 13, 77], [77, 7, 13], [13, 77, 1], [9, 50, 300], [37, 97, 8], [3, 530, 17]];
        foreach (var k in Kernels())
            foreach (var sz in sizes)
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        d.Add(k, sz[0], sz[1], sz[2], ta, tb);
        return d;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gemm_Dense_MatchesReference(GemmKernel kernel, int m, int n, int k, bool transA, bool transB) =>
        Check(kernel, GemmSpec.Dense(m, n, k, transA, transB), m * 1000 + n + k);

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Gemm_TallAndWide_SpanSeveralTasks(GemmKernel kernel)
    {
        // More rows than one task (MT) and more columns than one task (NT), K over two KC blocks.
        Check(kernel, GemmSpec.Dense(600, 21, 260), 5);
        Check(kernel, GemmSpec.Dense(10, 1000, 9, transB: true), 6);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Gemm_StridedBatches_LeadingDimensions_AlphaBeta(GemmKernel kernel)
    {
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                int m = 13, n = 19, k = 23, batch = 3;
                int lda = (ta ? m : k) + 5, ldb = (tb ? k : n) + 3, ldc = n + 7;
                long sa = (long)(ta ? k : m) * lda + 11, sb = (long)(tb ? n : k) * ldb + 2, sc = (long)m * ldc + 13;
                Check(kernel, new GemmSpec(m, n, k, ta, tb, lda, ldb, ldc, sa, sb, sc, batch, Alpha: 0.75f, Beta: -1.5f), 7);
                Check(kernel, new GemmSpec(m, n, k, ta, tb, lda, ldb, ldc, sa, sb, sc, batch, Alpha: 2f, Beta: 1f), 8);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Gemm_BetaZero_OverwritesNaN(GemmKernel kernel)
    {
        Check(kernel, GemmSpec.Dense(13, 77, 7), 9, nanC: true);
        Check(kernel, GemmSpec.Dense(16, 48, 300, transA: true), 10, nanC: true);
        // K = 0: the product is empty, C = beta·C, and beta = 0 still clears NaN.
        Check(kernel, new GemmSpec(5, 6, 0, false, false, 1, 6, 6, 5, 0, 30), 11, nanC: true);
    }

    [Fact]
    public void Gemm_StrideZeroA_SharesOneWeight()
    {
        // Conv 1×1 multiplies one weight by every image: StrideA = 0.
        Check(GemmKernel.Auto, new GemmSpec(8, 30, 5, false, false, 5, 30, 30, 0, 150, 240, Batch: 4), 12);
    }

    [Fact]
    public void Gemm_Deterministic_AcrossThreadCounts()
    {
        // 3 column tasks; with 3 workers the rows are cut too, so tiles move between tasks.
        var s = GemmSpec.Dense(333, 1100, 520, transB: true, beta: 0.5f);
        var a = OpHarness.Randn((int)s.ExtentA, 1);
        var b = OpHarness.Randn((int)s.ExtentB, 2);
        var c0 = OpHarness.Randn((int)s.ExtentC, 3);
        using var h1 = new OpHarness(1);
        using var h3 = new OpHarness(3);
        var r1 = RunOps(h1.Ops, h1, s, a, b, c0);
        var r3 = RunOps(h3.Ops, h3, s, a, b, c0);
        Close.Bitwise("gemm 1 vs 3 threads", r1, r3);
    }

    [Fact]
    public void Gemm_BadShapes_Throw()
    {
        using var h = new OpHarness();
        var a = h.Zeros(4, 5);
        var b = h.Zeros(5, 6);
        var c = h.Zeros(4, 6);
        Assert.Throws<ArgumentException>(() => h.Ops.Gemm(c, a, b, GemmSpec.Dense(4, 6, 6)));
        Assert.Throws<ArgumentException>(() => h.Ops.Gemm(c, a, b, GemmSpec.Dense(5, 6, 5)));
        Assert.Throws<ArgumentException>(() => h.Ops.Gemm(c, a, b, GemmSpec.Dense(4, 6, 5) with { Lda = 4 }));
        Assert.Throws<ArgumentException>(() => h.Ops.Gemm(c, a, b, GemmSpec.Dense(4, 6, 5, batch: 2)));
        Assert.Throws<ArgumentException>(() => h.Ops.Gemm(c, a, b, GemmSpec.Dense(-1, 6, 5)));
    }
}
