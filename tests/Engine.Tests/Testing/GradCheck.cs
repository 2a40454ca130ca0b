using Xunit.Sdk;

namespace Engine.Tests.Testing;

/// <summary>
/// Backward checks against central finite differences in double precision.
/// The scalar loss is L(x) = Σ dy ⊙ f(x), with f the op's double-precision reference forward and dy a fixed
/// random upstream gradient, so ∂L/∂x is exactly what the op's backward must return for that dy.
/// </summary>
public static class GradCheck
{
    /// <param name="op">name for messages</param>
    /// <param name="inputs">the op's differentiable (and non-differentiable) inputs, as exact float values in doubles</param>
    /// <param name="reference">double-precision forward: inputs → flat output</param>
    /// <param name="analytic">the backend's backward: (inputs, dy) → gradient per input; null where an input is not differentiated</param>
    /// <param name="probes">elements probed per input (chosen at random), or all if the input is smaller</param>
    public static void Run(
        string op,
        (string Name, double[] Data)[] inputs,
        Func<double[][], double[]> reference,
        Func<double[][], double[], float[]?[]> analytic,
        int seed = 1,
        int probes = 64,
        double h = 1e-4,
        double rtol = 2e-3,
        double atol = 2e-5)
    {
        var xs = inputs.Select(i => (double[])i.Data.Clone()).ToArray();
        int outLen = reference(xs).Length;
        var dy = OpHarness.Randn(outLen, seed + 1000);
        var grads = analytic(xs.Select(x => (double[])x.Clone()).ToArray(), dy);
        if (grads.Length != inputs.Length)
            throw new XunitException($"{op}: backward returned {grads.Length} gradients for {inputs.Length} inputs");

        var rng = new System.Random(seed);
        for (int n = 0; n < inputs.Length; n++)
        {
            var g = grads[n];
            if (g is null) continue;
            var x = xs[n];
            if (g.Length != x.Length)
                throw new XunitException($"{op}: d{inputs[n].Name} has {g.Length} values, expected {x.Length}");
            var idx = x.Length <= probes ? Enumerable.Range(0, x.Length).ToArray()
                : Enumerable.Range(0, probes).Select(_ => rng.Next(x.Length)).ToArray();
            var numeric = new double[idx.Length];
            var got = new float[idx.Length];
            for (int p = 0; p < idx.Length; p++)
            {
                int j = idx[p];
                double orig = x[j];
                x[j] = orig + h;
                double lp = Loss(reference(xs), dy);
                x[j] = orig - h;
                double lm = Loss(reference(xs), dy);
                x[j] = orig;
                numeric[p] = (lp - lm) / (2 * h);
                got[p] = g[j];
            }
            // Scale the absolute floor by the gradient's magnitude so large and tiny gradients are judged alike.
            double scale = Math.Max(1.0, numeric.Max(Math.Abs));
            Close.Assert($"{op}: d{inputs[n].Name} vs finite differences", got, numeric, rtol, atol * scale);
        }
    }

    private static double Loss(double[] y, double[] dy)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += y[i] * dy[i];
        return s;
    }
}
