using Engine.Tests.Reference;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class NormTests
{
    private const float Eps = 1e-5f;

    // Prefilled parameter gradients: backward must add to them, so the tests subtract these before comparing.
    private static double[] Prefill(int n) => Enumerable.Range(0, n).Select(i => 0.25 * (i % 5) - 0.5).ToArray();

    private static float[] MinusPrefill(Span<float> got)
    {
        var p = Prefill(got.Length);
        var r = new float[got.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(got[i] - p[i]);
        return r;
    }

    // ---------------- GroupNorm ----------------

    private static (float[] Y, float[] Mean, float[] Rstd) GroupNormForward(OpHarness h, double[] x, double[] gamma, double[] beta, int[] dims, int groups)
    {
        int n = dims[0], c = dims[1];
        var y = h.Zeros(dims);
        var mean = h.Zeros(n, groups);
        var rstd = h.Zeros(n, groups);
        h.Ops.GroupNormForward(y, mean, rstd, h.Tensor(x, dims), h.Tensor(gamma, c), h.Tensor(beta, c), groups, Eps);
        return (y.AsSpan().ToArray(), mean.AsSpan().ToArray(), rstd.AsSpan().ToArray());
    }

    private static float[][] GroupNormBackward(OpHarness h, double[] x, double[] gamma, double[] beta, double[] dy, int[] dims, int groups)
    {
        int n = dims[0], c = dims[1];
        var xt = h.Tensor(x, dims);
        var gt = h.Tensor(gamma, c);
        var y = h.Zeros(dims);
        var mean = h.Zeros(n, groups);
        var rstd = h.Zeros(n, groups);
        h.Ops.GroupNormForward(y, mean, rstd, xt, gt, h.Tensor(beta, c), groups, Eps);
        var dx = h.Tensor(Enumerable.Repeat(7.0, x.Length).ToArray(), dims); // garbage: dx is overwritten
        var dgamma = h.Tensor(Prefill(c), c);
        var dbeta = h.Tensor(Prefill(c), c);
        h.Ops.GroupNormBackward(dx, dgamma, dbeta, h.Tensor(dy, dims), xt, mean, rstd, gt, groups);
        return [dx.AsSpan().ToArray(), MinusPrefill(dgamma.AsSpan()), MinusPrefill(dbeta.AsSpan())];
    }

    [Theory]
    [InlineData(new[] { 2, 6, 5 }, 3)]
    [InlineData(new[] { 1, 4, 7 }, 4)]      // one channel per group
    [InlineData(new[] { 3, 5, 3 }, 1)]      // a single group
    [InlineData(new[] { 2, 8, 1 }, 2)]      // spatial 1
    [InlineData(new[] { 2, 9, 3, 5 }, 3)]   // rank 4, odd sizes
    [InlineData(new[] { 1, 6, 13, 7 }, 2)]  // odd spatial
    public void GroupNorm_Forward_MatchesReference(int[] dims, int groups)
    {
        using var h = new OpHarness();
        int n = dims[0], c = dims[1], numel = dims.Aggregate(1, (a, b) => a * b);
        var x = OpHarness.Randn(numel, 1, 2.0).Select(v => v + 0.5).ToArray();
        var gamma = OpHarness.Randn(c, 2);
        var beta = OpHarness.Randn(c, 3);
        var (y, mean, rstd) = GroupNormForward(h, x, gamma, beta, dims, groups);
        var e = NormReference.GroupNorm(x, gamma, beta, n, c, numel / (n * c), groups, Eps);
        Close.Assert("groupnorm y", y, e.Y, 1e-5, 1e-5);
        Close.Assert("groupnorm mean", mean, e.Mean, 1e-6, 1e-6);
        Close.Assert("groupnorm rstd", rstd, e.Rstd, 1e-6, 1e-6);
    }

    [Theory]
    [InlineData(new[] { 2, 6, 5 }, 3)]
    [InlineData(new[] { 1, 4, 7 }, 4)]
    [InlineData(new[] { 3, 5, 3 }, 1)]
    [InlineData(new[] { 2, 8, 1 }, 2)]
    [InlineData(new[] { 2, 9, 3, 5 }, 3)]
    public void GroupNorm_Backward_MatchesFiniteDifferences(int[] dims, int groups)
    {
        using var h = new OpHarness();
        int n = dims[0], c = dims[1], numel = dims.Aggregate(1, (a, b) => a * b);
        GradCheck.Run($"groupnorm {string.Join('x', dims)} g{groups}",
            [("x", OpHarness.Randn(numel, 4)), ("gamma", OpHarness.Randn(c, 5)), ("beta", OpHarness.Randn(c, 6))],
            xs => NormReference.GroupNorm(xs[0], xs[1], xs[2], n, c, numel / (n * c), groups, Eps).Y,
            (xs, dy) => GroupNormBackward(h, xs[0], xs[1], xs[2], dy, dims, groups));
    }

    [Fact]
    public void GroupNorm_FrozenParameters_SkipsThemAndKeepsDx()
    {
        using var h = new OpHarness();
        int[] dims = [2, 4, 6];
        var x = h.Tensor(OpHarness.Randn(48, 7), dims);
        var gamma = h.Tensor(OpHarness.Randn(4, 8), 4);
        var dy = h.Tensor(OpHarness.Randn(48, 9), dims);
        var y = h.Zeros(dims);
        var mean = h.Zeros(2, 2);
        var rstd = h.Zeros(2, 2);
        h.Ops.GroupNormForward(y, mean, rstd, x, gamma, h.Zeros(4), 2, Eps);
        var dxAll = h.Zeros(dims);
        h.Ops.GroupNormBackward(dxAll, h.Zeros(4), h.Zeros(4), dy, x, mean, rstd, gamma, 2);
        var dxOnly = h.Zeros(dims);
        h.Ops.GroupNormBackward(dxOnly, Engine.Tensors.Tensor.None, Engine.Tensors.Tensor.None, dy, x, mean, rstd, gamma, 2);
        Close.Bitwise("dx without parameter gradients", dxOnly.AsSpan(), dxAll.AsSpan());
    }

    [Fact]
    public void GroupNorm_IsDeterministicAcrossThreadCounts()
    {
        int[] dims = [3, 12, 9, 11];
        int numel = 3 * 12 * 99;
        var x = OpHarness.Randn(numel, 10);
        var gamma = OpHarness.Randn(12, 11);
        var beta = OpHarness.Randn(12, 12);
        var dy = OpHarness.Randn(numel, 13);
        float[][] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var (y, mean, rstd) = GroupNormForward(h, x, gamma, beta, dims, 4);
            return [y, mean, rstd, .. GroupNormBackward(h, x, gamma, beta, dy, dims, 4)];
        }
        var a = Run(1);
        var b = Run(3);
        for (int i = 0; i < a.Length; i++) Close.Bitwise($"groupnorm output {i}", a[i], b[i]);
    }

    [Fact]
    public void GroupNorm_BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(2, 6, 4);
        var y = h.Zeros(2, 6, 4);
        var g = h.Zeros(6);
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormForward(y, h.Zeros(2, 4), h.Zeros(2, 4), x, g, g, 4, Eps)); // 6 % 4
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormForward(y, h.Zeros(2, 2), h.Zeros(2, 3), x, g, g, 3, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormForward(y, h.Zeros(2, 3), h.Zeros(2, 3), x, h.Zeros(5), g, 3, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormForward(h.Zeros(2, 6, 5), h.Zeros(2, 3), h.Zeros(2, 3), x, g, g, 3, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormBackward(h.Zeros(2, 6, 5), g, g, y, x, h.Zeros(2, 3), h.Zeros(2, 3), g, 3));
        Assert.Throws<ArgumentException>(() => h.Ops.GroupNormBackward(y, h.Zeros(3), g, y, x, h.Zeros(2, 3), h.Zeros(2, 3), g, 3));
    }

    // ---------------- LayerNorm ----------------

    private static (float[] Y, float[] Mean, float[] Rstd) LayerNormForward(OpHarness h, double[] x, double[] gamma, double[] beta, int rows, int c)
    {
        var y = h.Zeros(rows, c);
        var mean = h.Zeros(rows);
        var rstd = h.Zeros(rows);
        h.Ops.LayerNormForward(y, mean, rstd, h.Tensor(x, rows, c), h.Tensor(gamma, c), h.Tensor(beta, c), Eps);
        return (y.AsSpan().ToArray(), mean.AsSpan().ToArray(), rstd.AsSpan().ToArray());
    }

    private static float[][] LayerNormBackward(OpHarness h, double[] x, double[] gamma, double[] beta, double[] dy, int rows, int c)
    {
        var xt = h.Tensor(x, rows, c);
        var gt = h.Tensor(gamma, c);
        var mean = h.Zeros(rows);
        var rstd = h.Zeros(rows);
        h.Ops.LayerNormForward(h.Zeros(rows, c), mean, rstd, xt, gt, h.Tensor(beta, c), Eps);
        var dx = h.Tensor(Enumerable.Repeat(7.0, x.Length).ToArray(), rows, c);
        var dgamma = h.Tensor(Prefill(c), c);
        var dbeta = h.Tensor(Prefill(c), c);
        h.Ops.LayerNormBackward(dx, dgamma, dbeta, h.Tensor(dy, rows, c), xt, mean, rstd, gt);
        return [dx.AsSpan().ToArray(), MinusPrefill(dgamma.AsSpan()), MinusPrefill(dbeta.AsSpan())];
    }

    [Theory]
    [InlineData(5, 77)]
    [InlineData(1, 13)]
    [InlineData(70, 8)] // more rows than one chunk of the parameter-gradient reduction
    public void LayerNorm_Forward_MatchesReference(int rows, int c)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(rows * c, 21, 3.0).Select(v => v - 1).ToArray();
        var gamma = OpHarness.Randn(c, 22);
        var beta = OpHarness.Randn(c, 23);
        var (y, mean, rstd) = LayerNormForward(h, x, gamma, beta, rows, c);
        var e = NormReference.LayerNorm(x, gamma, beta, rows, c, Eps);
        Close.Assert("layernorm y", y, e.Y, 1e-5, 1e-5);
        Close.Assert("layernorm mean", mean, e.Mean, 1e-6, 1e-6);
        Close.Assert("layernorm rstd", rstd, e.Rstd, 1e-6, 1e-6);
    }

    [Theory]
    [InlineData(5, 77)]
    [InlineData(1, 13)]
    [InlineData(3, 7)]
    [InlineData(37, 5)]
    public void LayerNorm_Backward_MatchesFiniteDifferences(int rows, int c)
    {
        using var h = new OpHarness();
        GradCheck.Run($"layernorm {rows}x{c}",
            [("x", OpHarness.Randn(rows * c, 24)), ("gamma", OpHarness.Randn(c, 25)), ("beta", OpHarness.Randn(c, 26))],
            xs => NormReference.LayerNorm(xs[0], xs[1], xs[2], rows, c, Eps).Y,
            (xs, dy) => LayerNormBackward(h, xs[0], xs[1], xs[2], dy, rows, c));
    }

    [Fact]
    public void LayerNorm_AcceptsBatchTokenChannelLayout()
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(2 * 3 * 8, 27);
        var gamma = OpHarness.Randn(8, 28);
        var beta = OpHarness.Randn(8, 29);
        var y = h.Zeros(2, 3, 8);
        h.Ops.LayerNormForward(y, h.Zeros(2, 3), h.Zeros(2, 3), h.Tensor(x, 2, 3, 8), h.Tensor(gamma, 8), h.Tensor(beta, 8), Eps);
        Close.Assert("layernorm [B, T, C]", y.AsSpan(), NormReference.LayerNorm(x, gamma, beta, 6, 8, Eps).Y, 1e-5, 1e-5);
    }

    [Fact]
    public void LayerNorm_IsDeterministicAcrossThreadCounts()
    {
        int rows = 203, c = 45;
        var x = OpHarness.Randn(rows * c, 30);
        var gamma = OpHarness.Randn(c, 31);
        var beta = OpHarness.Randn(c, 32);
        var dy = OpHarness.Randn(rows * c, 33);
        float[][] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var (y, mean, rstd) = LayerNormForward(h, x, gamma, beta, rows, c);
            return [y, mean, rstd, .. LayerNormBackward(h, x, gamma, beta, dy, rows, c)];
        }
        var a = Run(1);
        var b = Run(3);
        for (int i = 0; i < a.Length; i++) Close.Bitwise($"layernorm output {i}", a[i], b[i]);
    }

    [Fact]
    public void LayerNorm_BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(4, 6);
        var g = h.Zeros(6);
        Assert.Throws<ArgumentException>(() => h.Ops.LayerNormForward(h.Zeros(4, 6), h.Zeros(4), h.Zeros(4), x, h.Zeros(4), g, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.LayerNormForward(h.Zeros(4, 6), h.Zeros(3), h.Zeros(4), x, g, g, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.LayerNormForward(h.Zeros(6, 4), h.Zeros(4), h.Zeros(4), x, g, g, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.LayerNormBackward(h.Zeros(4, 6), h.Zeros(5), g, h.Zeros(4, 6), x, h.Zeros(4), h.Zeros(4), g));
        Assert.Throws<ArgumentException>(() => h.Ops.LayerNormBackward(h.Zeros(4, 6), g, g, h.Zeros(4, 5), x, h.Zeros(4), h.Zeros(4), g));
    }

    // ---------------- BatchNorm2d ----------------

    private const float Momentum = 0.1f;

    private static float[][] BatchNormBackward(OpHarness h, double[] x, double[] gamma, double[] beta, double[] dy, int[] dims)
    {
        int c = dims[1];
        var xt = h.Tensor(x, dims);
        var gt = h.Tensor(gamma, c);
        var mean = h.Zeros(c);
        var rstd = h.Zeros(c);
        h.Ops.BatchNormForward(h.Zeros(dims), mean, rstd, h.Zeros(c), h.Zeros(c), xt, gt, h.Tensor(beta, c), true, Momentum, Eps);
        var dx = h.Tensor(Enumerable.Repeat(7.0, x.Length).ToArray(), dims);
        var dgamma = h.Tensor(Prefill(c), c);
        var dbeta = h.Tensor(Prefill(c), c);
        h.Ops.BatchNormBackward(dx, dgamma, dbeta, h.Tensor(dy, dims), xt, mean, rstd, gt);
        return [dx.AsSpan().ToArray(), MinusPrefill(dgamma.AsSpan()), MinusPrefill(dbeta.AsSpan())];
    }

    [Theory]
    [InlineData(new[] { 3, 4, 5 })]
    [InlineData(new[] { 1, 3, 2, 3 })]   // batch 1: statistics over the spatial positions only
    [InlineData(new[] { 2, 5, 3, 3 })]
    [InlineData(new[] { 7, 2, 1, 1 })]   // spatial 1: statistics over the batch only
    public void BatchNorm_Train_ForwardAndRunningStats_MatchPyTorchFormula(int[] dims)
    {
        using var h = new OpHarness();
        int n = dims[0], c = dims[1], numel = dims.Aggregate(1, (a, b) => a * b);
        var x = OpHarness.Randn(numel, 40, 2.0).Select(v => v + 1).ToArray();
        var gamma = OpHarness.Randn(c, 41);
        var beta = OpHarness.Randn(c, 42);
        var rm0 = OpHarness.Randn(c, 43);
        var rv0 = OpHarness.Uniform(c, 44, 0.5, 2);
        var y = h.Zeros(dims);
        var mean = h.Zeros(c);
        var rstd = h.Zeros(c);
        var rm = h.Tensor(rm0, c);
        var rv = h.Tensor(rv0, c);
        h.Ops.BatchNormForward(y, mean, rstd, rm, rv, h.Tensor(x, dims), h.Tensor(gamma, c), h.Tensor(beta, c), true, Momentum, Eps);
        var e = NormReference.BatchNorm(x, gamma, beta, rm0, rv0, n, c, numel / (n * c), true, Momentum, Eps);
        Close.Assert("batchnorm y", y.AsSpan(), e.Y, 1e-5, 1e-5);
        Close.Assert("batchnorm mean", mean.AsSpan(), e.Mean, 1e-6, 1e-6);
        Close.Assert("batchnorm rstd", rstd.AsSpan(), e.Rstd, 1e-6, 1e-6);
        Close.Assert("batchnorm running mean", rm.AsSpan(), e.RunningMean, 1e-6, 1e-6);
        Close.Assert("batchnorm running var", rv.AsSpan(), e.RunningVar, 1e-6, 1e-6);
    }

    [Fact]
    public void BatchNorm_RunningStats_UseUnbiasedVarianceByHand()
    {
        // One channel, values 1, 2, 3, 6: mean 3, biased var 3.5, unbiased var 14/3.
        using var h = new OpHarness();
        var rm = h.Tensor(new[] { 0.5f }, 1);
        var rv = h.Tensor(new[] { 2.0f }, 1);
        var mean = h.Zeros(1);
        var rstd = h.Zeros(1);
        h.Ops.BatchNormForward(h.Zeros(2, 1, 2), mean, rstd, rm, rv, h.Tensor(new[] { 1f, 2f, 3f, 6f }, 2, 1, 2),
            h.Tensor(new[] { 1f }, 1), h.Tensor(new[] { 0f }, 1), true, 0.1f, Eps);
        Close.Assert("running mean", rm.AsSpan(), new[] { 0.9 * 0.5 + 0.1 * 3 }, 1e-6, 1e-7);
        Close.Assert("running var", rv.AsSpan(), new[] { 0.9 * 2.0 + 0.1 * 14.0 / 3.0 }, 1e-6, 1e-7);
        Close.Assert("batch rstd (biased)", rstd.AsSpan(), new[] { 1 / Math.Sqrt(3.5 + 1e-5) }, 1e-6, 1e-7);
    }

    [Fact]
    public void BatchNorm_Eval_UsesRunningStatsAndLeavesThem()
    {
        using var h = new OpHarness();
        int[] dims = [2, 3, 5];
        var x = OpHarness.Randn(30, 45);
        var gamma = OpHarness.Randn(3, 46);
        var beta = OpHarness.Randn(3, 47);
        var rm0 = OpHarness.Randn(3, 48);
        var rv0 = OpHarness.Uniform(3, 49, 0.5, 2);
        var y = h.Zeros(dims);
        var rm = h.Tensor(rm0, 3);
        var rv = h.Tensor(rv0, 3);
        var rstd = h.Zeros(3);
        h.Ops.BatchNormForward(y, h.Zeros(3), rstd, rm, rv, h.Tensor(x, dims), h.Tensor(gamma, 3), h.Tensor(beta, 3), false, Momentum, Eps);
        var e = NormReference.BatchNorm(x, gamma, beta, rm0, rv0, 2, 3, 5, false, Momentum, Eps);
        Close.Assert("batchnorm eval y", y.AsSpan(), e.Y, 1e-5, 1e-5);
        Close.Assert("batchnorm eval rstd", rstd.AsSpan(), e.Rstd, 1e-6, 1e-6);
        Close.Bitwise("running mean untouched", rm.AsSpan(), OpHarness.ToFloat(rm0));
        Close.Bitwise("running var untouched", rv.AsSpan(), OpHarness.ToFloat(rv0));
    }

    [Theory]
    [InlineData(new[] { 3, 4, 5 })]
    [InlineData(new[] { 1, 3, 2, 3 })]
    [InlineData(new[] { 2, 5, 3, 3 })]
    [InlineData(new[] { 7, 2, 1 })]
    public void BatchNorm_TrainBackward_MatchesFiniteDifferences(int[] dims)
    {
        using var h = new OpHarness();
        int n = dims[0], c = dims[1], numel = dims.Aggregate(1, (a, b) => a * b);
        var zeros = new double[c];
        GradCheck.Run($"batchnorm {string.Join('x', dims)}",
            [("x", OpHarness.Randn(numel, 50)), ("gamma", OpHarness.Randn(c, 51)), ("beta", OpHarness.Randn(c, 52))],
            xs => NormReference.BatchNorm(xs[0], xs[1], xs[2], zeros, zeros, n, c, numel / (n * c), true, Momentum, Eps).Y,
            (xs, dy) => BatchNormBackward(h, xs[0], xs[1], xs[2], dy, dims));
    }

    [Fact]
    public void BatchNorm_IsDeterministicAcrossThreadCounts()
    {
        int[] dims = [5, 7, 6, 9];
        int numel = 5 * 7 * 54;
        var x = OpHarness.Randn(numel, 53);
        var gamma = OpHarness.Randn(7, 54);
        var beta = OpHarness.Randn(7, 55);
        var dy = OpHarness.Randn(numel, 56);
        float[][] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var y = h.Zeros(dims);
            var rm = h.Zeros(7);
            var rv = h.Zeros(7);
            h.Ops.BatchNormForward(y, h.Zeros(7), h.Zeros(7), rm, rv, h.Tensor(x, dims), h.Tensor(gamma, 7), h.Tensor(beta, 7), true, Momentum, Eps);
            return [y.AsSpan().ToArray(), rm.AsSpan().ToArray(), rv.AsSpan().ToArray(), .. BatchNormBackward(h, x, gamma, beta, dy, dims)];
        }
        var a = Run(1);
        var b = Run(3);
        for (int i = 0; i < a.Length; i++) Close.Bitwise($"batchnorm output {i}", a[i], b[i]);
    }

    [Fact]
    public void BatchNorm_BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(2, 3, 4);
        var y = h.Zeros(2, 3, 4);
        var g = h.Zeros(3);
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormForward(y, g, g, g, g, x, h.Zeros(4), g, true, Momentum, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormForward(y, h.Zeros(2), g, g, g, x, g, g, true, Momentum, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormForward(h.Zeros(2, 3, 5), g, g, g, g, x, g, g, true, Momentum, Eps));
        // One value per channel cannot be normalized in training (PyTorch raises too).
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormForward(h.Zeros(1, 3, 1), g, g, g, g, h.Zeros(1, 3, 1), g, g, true, Momentum, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormForward(y, g, g, Engine.Tensors.Tensor.None, Engine.Tensors.Tensor.None, x, g, g, false, Momentum, Eps));
        Assert.Throws<ArgumentException>(() => h.Ops.BatchNormBackward(y, h.Zeros(4), g, y, x, g, g, g));
    }
}
