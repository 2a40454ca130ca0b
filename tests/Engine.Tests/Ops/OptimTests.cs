using Engine.Ops;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class OptimTests
{
    /// <summary>torch.optim.Adam / AdamW (single-tensor path) in double, one step; t is 1-based.</summary>
    private static void AdamReference(double[] p, double[] g, double[] m, double[] v, AdamSpec s, int t)
    {
        double lr = s.LearningRate, b1 = s.Beta1, b2 = s.Beta2, eps = s.Eps, wd = s.WeightDecay;
        for (int i = 0; i < p.Length; i++)
        {
            double grad = g[i];
            if (s.Decoupled) p[i] *= 1 - lr * wd;     // AdamW: decay the weights directly
            else grad += wd * p[i];                   // Adam: L2 through the gradient
            m[i] = b1 * m[i] + (1 - b1) * grad;
            v[i] = b2 * v[i] + (1 - b2) * grad * grad;
            double mHat = m[i] / (1 - Math.Pow(b1, t));
            double vHat = v[i] / (1 - Math.Pow(b2, t));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }

    public static TheoryData<bool, float, int> Cases => new()
    {
        { true, 0f, 77 },
        { true, 0.1f, 77 },
        { false, 0.1f, 77 },
        { true, 0.01f, 1 },
        { false, 0.05f, 1000 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Adam_MatchesPyTorchFormulasOverSteps(bool decoupled, float weightDecay, int n)
    {
        using var h = new OpHarness();
        var spec = new AdamSpec(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: weightDecay, Decoupled: decoupled);
        var p = OpHarness.Randn(n, 1);
        var m = new double[n];
        var v = new double[n];
        var tp = h.Tensor(p, n);
        var tm = h.Zeros(n);
        var tv = h.Zeros(n);
        for (int step = 1; step <= 6; step++)
        {
            // A gradient with tiny and large entries, and some exact zeros (v stays 0 there; eps matters).
            var g = OpHarness.Randn(n, 100 + step, scale: step % 2 == 0 ? 1e-3 : 2);
            for (int i = 0; i < n; i += 11) g[i] = 0;
            h.Ops.AdamStep(tp, h.Tensor(g, n), tm, tv, spec, step);
            AdamReference(p, g, m, v, spec, step);
            Close.Assert($"param after step {step}", tp.AsSpan(), p, 1e-5, 1e-6);
            // m's absolute floor is float rounding of g (|g| up to ~6): with L2, g + wd·p can cancel to ~1e-6.
            Close.Assert($"m after step {step}", tm.AsSpan(), m, 1e-5, 2e-7);
            Close.Assert($"v after step {step}", tv.AsSpan(), v, 1e-5, 1e-12);
        }
    }

    [Fact]
    public void AdamW_DecayActsWithoutGradient()
    {
        // AdamW with g = 0 only shrinks p by (1 - lr·wd); Adam with L2 moves p by about lr (the normalized wd·p).
        using var h = new OpHarness();
        var p = h.Tensor(new float[] { 2f, -4f }, 2);
        h.Ops.AdamStep(p, h.Zeros(2), h.Zeros(2), h.Zeros(2), new AdamSpec(0.1f, WeightDecay: 0.5f, Decoupled: true), 1);
        Close.Assert("adamw g=0", p.AsSpan(), [2 * 0.95, -4 * 0.95], 1e-6, 1e-7);
        var q = h.Tensor(new float[] { 2f, -4f }, 2);
        h.Ops.AdamStep(q, h.Zeros(2), h.Zeros(2), h.Zeros(2), new AdamSpec(0.1f, WeightDecay: 0.5f, Decoupled: false), 1);
        Close.Assert("adam l2 g=0", q.AsSpan(), [1.9, -3.9], 1e-6, 1e-6);
    }

    [Fact]
    public void Adam_SameBitsInVectorLanesAndScalarTail()
    {
        // Element-wise: element i gets the same bits whether it is updated in a SIMD lane or in the scalar tail.
        using var h = new OpHarness();
        int n = 45; // 32 in Vector512 lanes (where accelerated), 8 in Vector256 lanes, 5 in the scalar tail
        var p = OpHarness.Randn(n, 1);
        var g = OpHarness.Randn(n, 2);
        var m = OpHarness.Randn(n, 3, 0.1);
        var v = OpHarness.Uniform(n, 4, 0, 0.01);
        var spec = new AdamSpec(1e-3f, WeightDecay: 0.01f);
        var tp = h.Tensor(p, n);
        h.Ops.AdamStep(tp, h.Tensor(g, n), h.Tensor(m, n), h.Tensor(v, n), spec, 3);
        for (int i = 0; i < n; i++)
        {
            var one = h.Tensor(new[] { p[i] }, 1);
            h.Ops.AdamStep(one, h.Tensor(new[] { g[i] }, 1), h.Tensor(new[] { m[i] }, 1), h.Tensor(new[] { v[i] }, 1), spec, 3);
            Close.Bitwise($"element {i}", one.AsSpan(), tp.AsSpan().Slice(i, 1));
        }
    }

    [Fact]
    public void Adam_BitwiseAcrossThreadCounts()
    {
        int n = 200_003;
        var p = OpHarness.Randn(n, 1);
        var g = OpHarness.Randn(n, 2);
        float[] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var tp = h.Tensor(p, n);
            var tm = h.Zeros(n);
            var tv = h.Zeros(n);
            for (int step = 1; step <= 2; step++)
                h.Ops.AdamStep(tp, h.Tensor(g, n), tm, tv, new AdamSpec(1e-3f, WeightDecay: 0.01f), step);
            return [.. tp.AsSpan(), .. tm.AsSpan(), .. tv.AsSpan()];
        }
        Close.Bitwise("adamw 1 vs 3 threads", Run(1), Run(3));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(8);
        var spec = new AdamSpec(1e-3f);
        Assert.Throws<ArgumentException>(() => h.Ops.AdamStep(x, h.Zeros(7), h.Zeros(8), h.Zeros(8), spec, 1));
        Assert.Throws<ArgumentException>(() => h.Ops.AdamStep(x, h.Zeros(8), h.Zeros(9), h.Zeros(8), spec, 1));
        Assert.Throws<ArgumentException>(() => h.Ops.AdamStep(x, h.Zeros(8), h.Zeros(8), h.Zeros(4), spec, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Ops.AdamStep(x, h.Zeros(8), h.Zeros(8), h.Zeros(8), spec, 0));
    }
}
