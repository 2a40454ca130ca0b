using System.Runtime.Intrinsics;
using Engine.Cpu;
using Engine.Cpu.Sgemm;
using Engine.Ops;
using Engine.Tests.Reference;
using Engine.Tests.Testing;
using Tensor = Engine.Tensors.Tensor;

namespace Engine.Tests.Ops;

public class AttentionTests
{
    private static (double[] Q, double[] K, double[] V) Inputs(AttentionSpec s, int seed, double scale = 1.0)
    {
        int qn = s.B * s.Tq * s.Heads * s.HeadDim, kn = s.B * s.Tk * s.Heads * s.HeadDim;
        return (OpHarness.Randn(qn, seed, scale), OpHarness.Randn(kn, seed + 1, scale), OpHarness.Randn(kn, seed + 2));
    }

    private static (float[] O, float[] Lse) Forward(OpHarness h, double[] q, double[] k, double[] v, AttentionSpec s, CpuOps? ops = null)
    {
        ops ??= h.Ops;
        var o = h.Zeros(s.B, s.Tq, s.Heads, s.HeadDim);
        var lse = h.Zeros(s.B, s.Heads, s.Tq);
        ops.AttentionForward(o, lse, h.Tensor(q, s.B, s.Tq, s.Heads, s.HeadDim), h.Tensor(k, s.B, s.Tk, s.Heads, s.HeadDim),
            h.Tensor(v, s.B, s.Tk, s.Heads, s.HeadDim), s);
        return (o.AsSpan().ToArray(), lse.AsSpan().ToArray());
    }

    private static float[][] Backward(OpHarness h, double[] q, double[] k, double[] v, double[] dout, AttentionSpec s, CpuOps? ops = null)
    {
        ops ??= h.Ops;
        int[] qDims = [s.B, s.Tq, s.Heads, s.HeadDim], kDims = [s.B, s.Tk, s.Heads, s.HeadDim];
        var qt = h.Tensor(q, qDims);
        var kt = h.Tensor(k, kDims);
        var vt = h.Tensor(v, kDims);
        var o = h.Zeros(qDims);
        var lse = h.Zeros(s.B, s.Heads, s.Tq);
        ops.AttentionForward(o, lse, qt, kt, vt, s);
        // Garbage in the gradients: the backward must overwrite them.
        var dq = h.Tensor(Enumerable.Repeat(3.0, q.Length).ToArray(), qDims);
        var dk = h.Tensor(Enumerable.Repeat(3.0, k.Length).ToArray(), kDims);
        var dv = h.Tensor(Enumerable.Repeat(3.0, v.Length).ToArray(), kDims);
        ops.AttentionBackward(dq, dk, dv, h.Tensor(dout, qDims), qt, kt, vt, o, lse, s);
        return [dq.AsSpan().ToArray(), dk.AsSpan().ToArray(), dv.AsSpan().ToArray()];
    }

    [Theory]
    [InlineData(1, 5, 5, 2, 8, false)]
    [InlineData(2, 6, 6, 1, 8, true)]
    [InlineData(1, 13, 7, 2, 40, false)]  // cross attention, SD head size
    [InlineData(1, 1, 9, 3, 7, false)]    // a single query, odd head size
    [InlineData(2, 5, 1, 2, 8, false)]    // a single key
    [InlineData(1, 1, 1, 1, 8, true)]
    [InlineData(1, 133, 133, 1, 16, true)] // more than one 128-query block, causal
    [InlineData(1, 131, 77, 2, 80, false)] // text-length keys, two query blocks
    [InlineData(1, 3, 5, 1, 160, false)]
    [InlineData(1, 5, 128, 1, 8, false)]  // 128 keys
    [InlineData(1, 20, 400, 1, 40, false)] // keys across three default 192-key tiles: the online softmax rescales
    [InlineData(1, 200, 200, 1, 8, true)]  // causal across key tiles and query blocks
    public void Forward_MatchesReference(int b, int tq, int tk, int heads, int headDim, bool causal)
    {
        using var h = new OpHarness();
        var s = new AttentionSpec(b, tq, tk, heads, headDim, causal);
        var (q, k, v) = Inputs(s, 1);
        var (o, lse) = Forward(h, q, k, v, s);
        var e = AttentionReference.Forward(q, k, v, b, tq, tk, heads, headDim, causal, 1 / Math.Sqrt(headDim));
        Close.Assert("attention o", o, e.O, 1e-5, 2e-6);
        Close.Assert("attention lse", lse, e.Lse, 1e-5, 2e-6);
    }

    [Fact]
    public void Forward_ExplicitScale_AndLargeScores()
    {
        // Scores far beyond exp's f32 range: the max subtraction must keep the softmax finite.
        using var h = new OpHarness();
        var s = new AttentionSpec(1, 9, 11, 2, 8, false, Scale: 3f);
        var (q, k, v) = Inputs(s, 5, scale: 6.0);
        var (o, lse) = Forward(h, q, k, v, s);
        var e = AttentionReference.Forward(q, k, v, 1, 9, 11, 2, 8, false, 3.0);
        Close.Assert("attention o (scale 3)", o, e.O, 1e-5, 1e-5);
        Close.Assert("attention lse (scale 3)", lse, e.Lse, 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(1, 5, 5, 2, 8, false)]
    [InlineData(1, 6, 6, 2, 8, true)]
    [InlineData(1, 4, 4, 1, 40, false)]
    [InlineData(1, 5, 5, 1, 40, true)]
    [InlineData(1, 13, 7, 1, 8, false)]   // cross attention Tq != Tk
    [InlineData(1, 1, 6, 2, 8, false)]    // a single query
    [InlineData(2, 4, 1, 1, 8, false)]    // a single key
    [InlineData(1, 7, 7, 1, 7, true)]     // odd head size
    [InlineData(1, 3, 128, 1, 8, false)]  // padded packed stride
    public void Backward_MatchesFiniteDifferences(int b, int tq, int tk, int heads, int headDim, bool causal)
    {
        using var h = new OpHarness();
        var s = new AttentionSpec(b, tq, tk, heads, headDim, causal);
        var (q, k, v) = Inputs(s, 10);
        double scale = 1 / Math.Sqrt(headDim);
        GradCheck.Run($"attention {b}x{tq}x{tk}x{heads}x{headDim}{(causal ? " causal" : "")}",
            [("q", q), ("k", k), ("v", v)],
            xs => AttentionReference.Forward(xs[0], xs[1], xs[2], b, tq, tk, heads, headDim, causal, scale).O,
            (xs, dy) => Backward(h, xs[0], xs[1], xs[2], dy, s));
    }

    [Fact]
    public void Backward_TwoDefaultKeyBlocks_MatchesFiniteDifferences()
    {
        // 1030 keys: two 1024-key backward tasks whose dq partial sums are added afterwards.
        using var h = new OpHarness();
        var s = new AttentionSpec(1, 2, 1030, 1, 8);
        var (q, k, v) = Inputs(s, 60);
        GradCheck.Run("attention 2x1030", [("q", q), ("k", k), ("v", v)],
            xs => AttentionReference.Forward(xs[0], xs[1], xs[2], 1, 2, 1030, 1, 8, false, 1 / Math.Sqrt(8)).O,
            (xs, dy) => Backward(h, xs[0], xs[1], xs[2], dy, s));
    }

    // Tiny query blocks, key tiles and key blocks put every edge (causal diagonal, online-softmax rescaling across key
    // tiles, dq partial sums across key blocks, padded query panels and key panels) inside tiny shapes.
    [Theory]
    [InlineData(13, 7, false, 4, 4, 4)]
    [InlineData(11, 11, true, 4, 8, 3)]
    [InlineData(9, 20, false, 8, 4, 2)]
    [InlineData(10, 10, true, 3, 3, 1)]
    [InlineData(40, 37, false, 16, 24, 6)]
    [InlineData(37, 37, true, 16, 20, 6)]
    public void SmallBlocks_ForwardAndBackward_MatchReference(int tq, int tk, bool causal, int queryBlock, int keyBlock, int keyTile)
    {
        using var h = new OpHarness();
        var ops = new CpuOps(2) { AttentionQueryBlock = queryBlock, AttentionKeyBlock = keyBlock, AttentionKeyTile = keyTile };
        var s = new AttentionSpec(2, tq, tk, 2, 8, causal);
        var (q, k, v) = Inputs(s, 70);
        double scale = 1 / Math.Sqrt(8);
        var (o, lse) = Forward(h, q, k, v, s, ops);
        var e = AttentionReference.Forward(q, k, v, 2, tq, tk, 2, 8, causal, scale);
        Close.Assert("attention o (small blocks)", o, e.O, 1e-5, 2e-6);
        Close.Assert("attention lse (small blocks)", lse, e.Lse, 1e-5, 2e-6);
        GradCheck.Run($"attention small blocks {tq}x{tk}{(causal ? " causal" : "")}", [("q", q), ("k", k), ("v", v)],
            xs => AttentionReference.Forward(xs[0], xs[1], xs[2], 2, tq, tk, 2, 8, causal, scale).O,
            (xs, dy) => Backward(h, xs[0], xs[1], xs[2], dy, s, ops));
    }

    /// <summary>
    /// The attention runs on whichever SGEMM micro-kernel the CPU has (its MR × NR sets the panel and tile shapes):
    /// each one this CPU can run, at an odd head size and with tiles small enough to have several of everything.
    /// </summary>
    [Theory]
    [MemberData(nameof(GemmTests.Kernels), MemberType = typeof(GemmTests))]
    public void EveryMicroKernel_ForwardAndBackward_MatchReference(GemmKernel kernel)
    {
        using var h = new OpHarness();
        foreach (bool causal in new[] { false, true })
        {
            var ops = new CpuOps(2) { GemmKernel = kernel, AttentionQueryBlock = 8, AttentionKeyBlock = 13, AttentionKeyTile = 5 };
            int tq = 29, tk = causal ? 29 : 23, d = 12;
            var s = new AttentionSpec(1, tq, tk, 2, d, causal);
            var (q, k, v) = Inputs(s, 80);
            double scale = 1 / Math.Sqrt(d);
            var (o, lse) = Forward(h, q, k, v, s, ops);
            var e = AttentionReference.Forward(q, k, v, 1, tq, tk, 2, d, causal, scale);
            Close.Assert($"attention o ({kernel})", o, e.O, 1e-5, 2e-6);
            Close.Assert($"attention lse ({kernel})", lse, e.Lse, 1e-5, 2e-6);
            GradCheck.Run($"attention {kernel}{(causal ? " causal" : "")}", [("q", q), ("k", k), ("v", v)],
                xs => AttentionReference.Forward(xs[0], xs[1], xs[2], 1, tq, tk, 2, d, causal, scale).O,
                (xs, dy) => Backward(h, xs[0], xs[1], xs[2], dy, s, ops));
        }
    }

    [Fact]
    public void Exp2_IsAccurate_AndZeroBelowTheRange()
    {
        double worst = 0;
        for (double x = -126; x <= 0; x += 0.00123)
        {
            float got = AttentionKernels.Exp2(Vector256.Create((float)x)).GetElement(0);
            double want = Math.Pow(2, (float)x);
            worst = Math.Max(worst, Math.Abs(got - want) / want);
        }
        Assert.True(worst < 1.5e-7, $"max relative error {worst:E2}");
        for (int k = -126; k <= 0; k++) Assert.Equal(MathF.Pow(2, k), AttentionKernels.Exp2(Vector256.Create((float)k)).GetElement(0));
        Assert.Equal(0f, AttentionKernels.Exp2(Vector256.Create(float.NegativeInfinity)).GetElement(0)); // masked scores
        Assert.Equal(0f, AttentionKernels.Exp2(Vector256.Create(-127.2f)).GetElement(0));
        Assert.Equal(0f, AttentionKernels.Exp2(Vector256.Create(-1e30f)).GetElement(0));
    }

    [Fact]
    public void Backward_NoneGradients_SkipThemAndKeepTheOthers()
    {
        using var h = new OpHarness();
        var s = new AttentionSpec(1, 9, 9, 2, 8, true);
        var (q, k, v) = Inputs(s, 20);
        var dout = OpHarness.Randn(q.Length, 23);
        var all = Backward(h, q, k, v, dout, s);

        int[] qDims = [1, 9, 2, 8];
        var qt = h.Tensor(q, qDims);
        var kt = h.Tensor(k, qDims);
        var vt = h.Tensor(v, qDims);
        var o = h.Zeros(qDims);
        var lse = h.Zeros(1, 2, 9);
        h.Ops.AttentionForward(o, lse, qt, kt, vt, s);
        var dk = h.Zeros(qDims);
        h.Ops.AttentionBackward(Tensor.None, dk, Tensor.None, h.Tensor(dout, qDims), qt, kt, vt, o, lse, s);
        Close.Bitwise("dk alone", dk.AsSpan(), all[1]);
    }

    [Theory]
    [InlineData(false, 1024, 128, 192)]
    [InlineData(true, 1024, 128, 192)]
    [InlineData(false, 16, 16, 6)] // several key blocks, key tiles and query blocks: dq from partial sums
    [InlineData(true, 16, 16, 6)]
    public void IsDeterministicAcrossThreadCounts(bool causal, int keyBlock, int queryBlock, int keyTile)
    {
        var s = new AttentionSpec(2, 70, 70, 3, 20, causal);
        var (q, k, v) = Inputs(s, 30);
        var dout = OpHarness.Randn(q.Length, 33);
        float[][] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var ops = new CpuOps(threads) { AttentionKeyBlock = keyBlock, AttentionQueryBlock = queryBlock, AttentionKeyTile = keyTile };
            var (o, lse) = Forward(h, q, k, v, s, ops);
            return [o, lse, .. Backward(h, q, k, v, dout, s, ops)];
        }
        var a = Run(1);
        var b = Run(3);
        string[] names = ["o", "lse", "dq", "dk", "dv"];
        for (int i = 0; i < a.Length; i++) Close.Bitwise($"attention {names[i]}", a[i], b[i]);
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        var s = new AttentionSpec(1, 4, 6, 2, 8);
        var q = h.Zeros(1, 4, 2, 8);
        var kv = h.Zeros(1, 6, 2, 8);
        var o = h.Zeros(1, 4, 2, 8);
        var lse = h.Zeros(1, 2, 4);
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionForward(o, lse, q, kv, kv, s with { Causal = true })); // Tq != Tk
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionForward(o, lse, h.Zeros(1, 4, 15), kv, kv, s));
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionForward(o, lse, q, h.Zeros(1, 5, 2, 8), kv, s));
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionForward(o, h.Zeros(1, 4, 3), q, kv, kv, s));
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionForward(h.Zeros(1, 6, 2, 8), lse, q, kv, kv, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Ops.AttentionForward(o, lse, q, kv, kv, s with { HeadDim = 0 }));
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionBackward(q, h.Zeros(1, 4, 2, 8), kv, o, q, kv, kv, o, lse, s));
        Assert.Throws<ArgumentException>(() => h.Ops.AttentionBackward(q, kv, kv, h.Zeros(1, 6, 2, 8), q, kv, kv, o, lse, s));
    }
}
