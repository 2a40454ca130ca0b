using Engine.Tensors;
using Engine.Tests.Testing;
using static Engine.Tests.Reference.ActivationReference;

namespace Engine.Tests.Ops;

public class ActivationTests
{
    private static readonly int[] Sizes = [1, 7, 13, 77];

    /// <summary>Forward against the double reference and backward against finite differences, for one point-wise op.</summary>
    private static void CheckPointwise(string name, Func<double, double> f,
        Action<OpHarness, Engine.Tensors.Tensor, Engine.Tensors.Tensor> forward,
        Action<OpHarness, Engine.Tensors.Tensor, Engine.Tensors.Tensor, Engine.Tensors.Tensor> backward,
        double rtol = 1e-5, double atol = 1e-6)
    {
        foreach (int n in Sizes)
        {
            using var h = new OpHarness();
            var x = OpHarness.Randn(n, n, scale: 3);
            var y = h.Zeros(n);
            forward(h, y, h.Tensor(x, n));
            Close.Assert($"{name} forward n={n}", y.AsSpan(), x.Select(f).ToArray(), rtol, atol);

            GradCheck.Run(name, [("x", x)], xs => xs[0].Select(f).ToArray(), (xs, dy) =>
            {
                var dx = h.Zeros(n);
                backward(h, dx, h.Tensor(dy, n), h.Tensor(xs[0], n));
                return [dx.AsSpan().ToArray()];
            }, seed: n);
        }
    }

    [Fact]
    public void Silu_ForwardBackward() => CheckPointwise("silu", Silu,
        (h, y, x) => h.Ops.SiluForward(y, x), (h, dx, dy, x) => h.Ops.SiluBackward(dx, dy, x));

    [Fact]
    public void Gelu_ForwardBackward() => CheckPointwise("gelu", Gelu,
        (h, y, x) => h.Ops.GeluForward(y, x), (h, dx, dy, x) => h.Ops.GeluBackward(dx, dy, x));

    [Fact]
    public void QuickGelu_ForwardBackward() => CheckPointwise("quick_gelu", QuickGelu,
        (h, y, x) => h.Ops.QuickGeluForward(y, x), (h, dx, dy, x) => h.Ops.QuickGeluBackward(dx, dy, x));

    [Fact]
    public void LeakyRelu_ForwardBackward() => CheckPointwise("leaky_relu", v => LeakyRelu(v, 0.2),
        (h, y, x) => h.Ops.LeakyReluForward(y, x, 0.2f), (h, dx, dy, x) => h.Ops.LeakyReluBackward(dx, dy, x, 0.2f));

    [Fact]
    public void Clamp_ForwardBackward() => CheckPointwise("clamp", v => Math.Clamp(v, -1, 1),
        (h, y, x) => h.Ops.ClampForward(y, x, -1f, 1f), (h, dx, dy, x) => h.Ops.ClampBackward(dx, dy, x, -1f, 1f));

    [Fact]
    public void Clamp_BoundsPassTheGradient_LikeTorch()
    {
        using var h = new OpHarness();
        var x = h.Tensor([-2, -1, 0.5, 1, 3], 5);
        var dx = h.Zeros(5);
        h.Ops.ClampBackward(dx, h.Tensor([1, 1, 1, 1, 1], 5), x, -1f, 1f);
        Assert.Equal([0f, 1f, 1f, 1f, 0f], dx.AsSpan().ToArray());
    }

    [Fact]
    public void Gelu_FloatErfIsAccurateOverTheRange()
    {
        // The float erf behind GELU, on a dense grid including both polynomial branches and the far tails.
        using var h = new OpHarness();
        int n = 4001;
        var x = Enumerable.Range(0, n).Select(i => (double)(float)(-10 + 20.0 * i / (n - 1))).ToArray();
        var y = h.Zeros(n);
        h.Ops.GeluForward(y, h.Tensor(x, n));
        Close.Assert("gelu grid", y.AsSpan(), x.Select(Gelu).ToArray(), 2e-6, 1e-6);
    }

    [Fact]
    public void SiluAndQuickGelu_AccurateOverTheWholeRange()
    {
        // The vector e^x behind σ, on a dense grid out to where e^-|x| is subnormal (|x| > 87) and then zero
        // (|x| > 104): forward and the analytic derivative against double.
        using var h = new OpHarness();
        int n = 8001;
        var x = Enumerable.Range(0, n).Select(i => (double)(float)(-120 + 240.0 * i / (n - 1))).ToArray();
        var ones = Enumerable.Repeat(1.0, n).ToArray();
        double SiluGrad(double v) => Sigmoid(v) * (1 + v * (1 - Sigmoid(v)));
        // Quick GELU's σ argument is the float product 1.702f·x: its rounding alone moves e^(1.702x) by up to
        // |1.702x|·2⁻²⁴ relative (5e-6 near the subnormals), so the reference starts from that same product.
        double Arg(double v) => 1.702f * (float)v;
        double QuickGeluF(double v) => v * Sigmoid(Arg(v));
        double QuickGeluGrad(double v) => Sigmoid(Arg(v)) + Arg(v) * Sigmoid(Arg(v)) * (1 - Sigmoid(Arg(v)));
        var y = h.Zeros(n);
        h.Ops.SiluForward(y, h.Tensor(x, n));
        Close.Assert("silu grid", y.AsSpan(), x.Select(Silu).ToArray(), 1e-6, 1e-30);
        h.Ops.SiluBackward(y, h.Tensor(ones, n), h.Tensor(x, n));
        Close.Assert("silu' grid", y.AsSpan(), x.Select(SiluGrad).ToArray(), 1e-6, 2e-7);
        h.Ops.QuickGeluForward(y, h.Tensor(x, n));
        Close.Assert("quick gelu grid", y.AsSpan(), x.Select(QuickGeluF).ToArray(), 1e-6, 1e-30);
        h.Ops.QuickGeluBackward(y, h.Tensor(ones, n), h.Tensor(x, n));
        Close.Assert("quick gelu' grid", y.AsSpan(), x.Select(QuickGeluGrad).ToArray(), 1e-6, 2e-7);
    }

    [Fact]
    public void Activations_ElementDependsOnlyOnItsValue()
    {
        // Eight lanes at a time with a zero-padded ragged tail: an element gives the same bits whether it falls in
        // a full vector or in the tail, so slicing the input one element later changes nothing.
        int n = 29;
        var x = OpHarness.Randn(n, 11, scale: 3);
        var dy = OpHarness.Randn(n, 12);
        float[] Run(double[] xs, double[] dys)
        {
            using var h = new OpHarness();
            int m = xs.Length;
            Tensor tx = h.Tensor(xs, m), tdy = h.Tensor(dys, m), y = h.Zeros(m), dx = h.Zeros(m), g = h.Zeros(m), dg = h.Zeros(m);
            h.Ops.SiluForward(y, tx);
            h.Ops.SiluBackward(dx, tdy, tx);
            h.Ops.GeluForward(g, tx);
            h.Ops.GeluBackward(dg, tdy, tx);
            return [.. y.AsSpan(), .. dx.AsSpan(), .. g.AsSpan(), .. dg.AsSpan()];
        }
        var whole = Run(x, dy);
        var shifted = Run(x[3..], dy[3..]);
        for (int k = 0; k < 4; k++)
            Close.Bitwise($"output {k} shifted by 3", whole.AsSpan(k * n + 3, n - 3), shifted.AsSpan(k * (n - 3), n - 3));
    }

    private static double[] GegluReference(double[] x, int rows, int c)
    {
        var y = new double[rows * c];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < c; j++)
                y[r * c + j] = x[r * 2 * c + j] * Gelu(x[r * 2 * c + c + j]);
        return y;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 13)]
    [InlineData(3, 7)]
    [InlineData(5, 4)]
    public void Geglu_ForwardBackward_BothHalves(int rows, int c)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(rows * 2 * c, rows * 100 + c, scale: 2);
        var y = h.Zeros(rows, c);
        h.Ops.GegluForward(y, h.Tensor(x, rows, 2 * c));
        Close.Assert("geglu forward", y.AsSpan(), GegluReference(x, rows, c));

        // Every element of x (hidden and gate half) is probed: rows·2C ≤ 64.
        GradCheck.Run("geglu", [("x", x)], xs => GegluReference(xs[0], rows, c), (xs, dy) =>
        {
            var dx = h.Zeros(rows, 2 * c);
            h.Ops.GegluBackward(dx, h.Tensor(dy, rows, c), h.Tensor(xs[0], rows, 2 * c));
            return [dx.AsSpan().ToArray()];
        }, seed: rows + c);
    }

    [Fact]
    public void Geglu_HigherRankRows()
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(2 * 3 * 10, 9);
        var y = h.Zeros(2, 3, 5);
        h.Ops.GegluForward(y, h.Tensor(x, 2, 3, 10));
        Close.Assert("geglu rank 3", y.AsSpan(), GegluReference(x, 6, 5));
    }

    [Fact]
    public void Activations_BitwiseAcrossThreadCounts()
    {
        int n = 100_003; // several work chunks
        var x = OpHarness.Randn(n, 5, scale: 3);
        var dy = OpHarness.Randn(n, 6);
        float[] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var y = h.Zeros(n);
            var dx = h.Zeros(n);
            h.Ops.GeluForward(y, h.Tensor(x, n));
            h.Ops.SiluBackward(dx, h.Tensor(dy, n), h.Tensor(x, n));
            return [.. y.AsSpan(), .. dx.AsSpan()];
        }
        Close.Bitwise("gelu/silu 1 vs 3 threads", Run(1), Run(3));
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(3, 4);
        Assert.Throws<ArgumentException>(() => h.Ops.SiluForward(h.Zeros(3, 5), x));
        Assert.Throws<ArgumentException>(() => h.Ops.GeluBackward(h.Zeros(3, 4), h.Zeros(4, 3), x));
        Assert.Throws<ArgumentException>(() => h.Ops.LeakyReluForward(h.Zeros(12), x, 0.1f));
        Assert.Throws<ArgumentException>(() => h.Ops.GegluForward(h.Zeros(3, 3), x));
        Assert.Throws<ArgumentException>(() => h.Ops.GegluForward(h.Zeros(3, 2), h.Zeros(3, 5)));
        Assert.Throws<ArgumentException>(() => h.Ops.GegluBackward(h.Zeros(3, 3), h.Zeros(3, 2), x));
    }
}
