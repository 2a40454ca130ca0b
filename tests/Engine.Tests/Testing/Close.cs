using Xunit.Sdk;

namespace Engine.Tests.Testing;

/// <summary>
/// Tolerance checks that report the worst element: |actual - expected| ≤ atol + rtol·|expected| per element,
/// with the max abs/rel error and the share of the threshold used, so tolerances can be tightened.
/// </summary>
public static class Close
{
    public static void Assert(string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double rtol = 1e-5, double atol = 1e-6)
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"{what}: {actual.Length} values, expected {expected.Length}");
        double worstUse = 0, maxAbs = 0;
        int worst = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            double err = Math.Abs(a - e);
            if (double.IsNaN(a) != double.IsNaN(e)) err = double.PositiveInfinity;
            else if (double.IsNaN(a)) err = 0;
            double tol = atol + rtol * Math.Abs(e);
            double use = tol > 0 ? err / tol : (err > 0 ? double.PositiveInfinity : 0);
            if (use > worstUse || worst < 0) { worstUse = use; worst = i; }
            maxAbs = Math.Max(maxAbs, err);
        }
        if (worstUse > 1)
            throw new XunitException($"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} " +
                $"(abs err {Math.Abs(actual[worst] - expected[worst]):E3}, {worstUse * 100:F0}% of atol {atol:E1} + rtol {rtol:E1}·|e|; max abs err {maxAbs:E3})");
    }

    public static void Assert(string what, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol = 1e-5, double atol = 1e-6)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        Assert(what, actual, e, rtol, atol);
    }

    /// <summary>Bitwise equality, for determinism tests.</summary>
    public static void Bitwise(string what, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new XunitException($"{what}: lengths {a.Length} and {b.Length}");
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                throw new XunitException($"{what}: element {i} differs: {a[i]:R} vs {b[i]:R}");
    }
}
