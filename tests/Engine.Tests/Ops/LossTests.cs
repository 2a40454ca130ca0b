using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class LossTests
{
    private static double Mse(double[] x, double[] t) => x.Zip(t, (a, b) => (a - b) * (a - b)).Sum() / x.Length;

    private static double Bce(double[] z, double[] t)
    {
        double s = 0;
        for (int i = 0; i < z.Length; i++)
            s += Math.Max(z[i], 0) - z[i] * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(z[i])));
        return s / z.Length;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(77)]
    [InlineData(20_000)]
    public void Mse_ForwardBackward(int n)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(n, n);
        var t = OpHarness.Randn(n, n + 1);
        var loss = h.Zeros(1);
        h.Ops.MseForward(loss, h.Tensor(x, n), h.Tensor(t, n));
        Close.Assert("mse", loss.AsSpan(), [Mse(x, t)], 1e-6, 1e-7);

        // dy of the scalar loss is GradCheck's random upstream gradient: the dloss scale.
        GradCheck.Run("mse", [("x", x), ("target", t)], xs => [Mse(xs[0], xs[1])], (xs, dy) =>
        {
            var dx = h.Zeros(n);
            h.Ops.MseBackward(dx, h.Tensor(xs[0], n), h.Tensor(xs[1], n), (float)dy[0]);
            return [dx.AsSpan().ToArray(), null];
        }, seed: n);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(77)]
    [InlineData(20_000)]
    public void BceWithLogits_ForwardBackward(int n)
    {
        using var h = new OpHarness();
        var z = OpHarness.Randn(n, n, scale: 6); // large |z| exercises the stable form
        var t = OpHarness.Uniform(n, n + 1, 0, 1);
        var loss = h.Zeros(1);
        h.Ops.BceWithLogitsForward(loss, h.Tensor(z, n), h.Tensor(t, n));
        Close.Assert("bce", loss.AsSpan(), [Bce(z, t)], 1e-6, 1e-7);

        GradCheck.Run("bce_with_logits", [("logits", z), ("target", t)], xs => [Bce(xs[0], xs[1])], (xs, dy) =>
        {
            var dz = h.Zeros(n);
            h.Ops.BceWithLogitsBackward(dz, h.Tensor(xs[0], n), h.Tensor(xs[1], n), (float)dy[0]);
            return [dz.AsSpan().ToArray(), null];
        }, seed: n);
    }

    [Fact]
    public void BceWithLogits_HugeLogitsStayFinite()
    {
        using var h = new OpHarness();
        var z = h.Tensor(new float[] { 200f, -200f, 90f, -90f }, 4);
        var t = h.Tensor(new float[] { 0f, 1f, 1f, 0f }, 4);
        var loss = h.Zeros(1);
        h.Ops.BceWithLogitsForward(loss, z, t);
        Close.Assert("bce huge logits", loss.AsSpan(), [(200.0 + 200.0) / 4], 1e-6, 1e-6);
        var dz = h.Zeros(4);
        h.Ops.BceWithLogitsBackward(dz, z, t, 1f);
        Close.Assert("dbce huge logits", dz.AsSpan(), [0.25, -0.25, 0, 0], 1e-6, 1e-7);
    }

    [Fact]
    public void Losses_BitwiseAcrossThreadCounts()
    {
        int n = 100_003;
        var x = OpHarness.Randn(n, 1, scale: 3);
        var t = OpHarness.Uniform(n, 2, 0, 1);
        float[] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var l = h.Zeros(2);
            h.Ops.MseForward(l.Slice(0, 1), h.Tensor(x, n), h.Tensor(t, n));
            h.Ops.BceWithLogitsForward(l.Slice(1, 1), h.Tensor(x, n), h.Tensor(t, n));
            var d = h.Zeros(n);
            h.Ops.BceWithLogitsBackward(d, h.Tensor(x, n), h.Tensor(t, n), 0.5f);
            return [.. l.AsSpan(), .. d.AsSpan()];
        }
        Close.Bitwise("losses 1 vs 3 threads", Run(1), Run(3));
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(2, 3);
        Assert.Throws<ArgumentException>(() => h.Ops.MseForward(h.Zeros(1), x, h.Zeros(3, 2)));
        Assert.Throws<ArgumentException>(() => h.Ops.MseForward(h.Zeros(2), x, x));
        Assert.Throws<ArgumentException>(() => h.Ops.MseBackward(h.Zeros(6), x, x, 1f));
        Assert.Throws<ArgumentException>(() => h.Ops.BceWithLogitsForward(h.Zeros(1), x, h.Zeros(6)));
        Assert.Throws<ArgumentException>(() => h.Ops.BceWithLogitsBackward(h.Zeros(2, 3), x, h.Zeros(2, 2), 1f));
    }
}
