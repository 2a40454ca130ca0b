using Engine.Ops;

namespace Engine.Tests.Testing;

/// <summary>The harness must be able to fail: a wrong backward is caught.</summary>
public class HarnessTests
{
    private static double[] Square(double[][] x) => x[0].Select(v => v * v).ToArray();

    [Fact]
    public void GradCheck_AcceptsCorrectGradient()
    {
        var x = OpHarness.Randn(17, 3);
        GradCheck.Run("square", [("x", x)], Square,
            (xs, dy) => [xs[0].Select((v, i) => (float)(2 * v * dy[i])).ToArray()]);
    }

    [Fact]
    public void GradCheck_RejectsWrongGradient()
    {
        var x = OpHarness.Randn(17, 3);
        Assert.ThrowsAny<Exception>(() => GradCheck.Run("square", [("x", x)], Square,
            (xs, dy) => [xs[0].Select((v, i) => (float)(2.01 * v * dy[i])).ToArray()]));
    }

    [Fact]
    public void Gemm_Placeholder_MatchesReference()
    {
        using var h = new OpHarness();
        var a = OpHarness.Randn(3 * 5, 1);
        var b = OpHarness.Randn(5 * 4, 2);
        var c = h.Zeros(3, 4);
        h.Ops.Gemm(c, h.Tensor(a, 3, 5), h.Tensor(b, 5, 4), GemmSpec.Dense(3, 4, 5));
        var e = new double[12];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int p = 0; p < 5; p++) e[i * 4 + j] += a[i * 5 + p] * b[p * 4 + j];
        Close.Assert("gemm", c.AsSpan(), e, 1e-5, 1e-6);
    }
}

public class CloseTests
{
    [Fact]
    public void ExactComparison_RejectsAnyDifference() =>
        Assert.ThrowsAny<Exception>(() => Close.Assert("exact", [1f, 2f], [1.0, 2.0000001], 0, 0));

    [Fact]
    public void ExactComparison_AcceptsEqual() => Close.Assert("exact", [1f, 2f], [1.0, 2.0], 0, 0);
}
