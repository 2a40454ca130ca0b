using Engine.Ops;

namespace Engine.Tests.Reference;

/// <summary>
/// DoCo's gradient surgery in double, written the way doco-spec.md §4 states it (clip each gradient to the global
/// norm, then per tensor normalise / project), not the way the fused kernels factor it.
/// </summary>
internal static class SurgeryReference
{
    /// <summary>Returns the adjusted g_u and stats [segments + 1, 4] as laid out by IOps.GradientSurgery.</summary>
    public static (double[] Gu, double[] Stats) Run(double[] gu, double[] gr, long[] offsets, SurgerySpec spec)
    {
        int nseg = offsets.Length - 1;
        double normU = Math.Sqrt(gu.Sum(v => v * v)), normR = Math.Sqrt(gr.Sum(v => v * v));
        // torch.nn.utils.clip_grad_norm_(params, max_norm): coef = max_norm / (total + 1e-6), applied when < 1.
        double su = spec.MaxNorm > 0 ? Math.Min(1, spec.MaxNorm / (normU + 1e-6)) : 1;
        double sr = spec.MaxNorm > 0 ? Math.Min(1, spec.MaxNorm / (normR + 1e-6)) : 1;
        double[] u = gu.Select(v => su * v).ToArray(), r = gr.Select(v => sr * v).ToArray();
        var stats = new double[4 * (nseg + 1)];
        stats[4 * nseg] = normU;
        stats[4 * nseg + 1] = normR;
        stats[4 * nseg + 2] = su;
        stats[4 * nseg + 3] = sr;
        for (int s = 0; s < nseg; s++)
        {
            int lo = (int)offsets[s], hi = (int)offsets[s + 1];
            double nu = Math.Sqrt(Sum(lo, hi, i => u[i] * u[i])), nr = Math.Sqrt(Sum(lo, hi, i => r[i] * r[i]));
            double cos;
            bool fired;
            if (spec.Rule == SurgeryRule.Official)
            {
                // r̂ = g_r/(‖g_r‖+1e-8), û = g_u/(‖g_u‖+1e-8), cos = ⟨û, r̂⟩; if cos < 0: g_u ← g_u − λ·cos·r̂
                cos = Sum(lo, hi, i => u[i] / (nu + 1e-8) * (r[i] / (nr + 1e-8)));
                fired = cos < 0;
                if (fired)
                    for (int i = lo; i < hi; i++) u[i] -= spec.Lambda * cos * r[i] / (nr + 1e-8);
            }
            else
            {
                // if ⟨g_u, g_r⟩ < 0: g_u ← g_u − λ·⟨g_u, g_r⟩/‖g_r‖²·g_r
                double dot = Sum(lo, hi, i => u[i] * r[i]);
                cos = nu > 0 && nr > 0 ? dot / (nu * nr) : 0;
                fired = dot < 0;
                if (fired)
                    for (int i = lo; i < hi; i++) u[i] -= spec.Lambda * dot / (nr * nr) * r[i];
            }
            stats[4 * s] = cos;
            stats[4 * s + 1] = fired ? 1 : 0;
            stats[4 * s + 2] = nu;
            stats[4 * s + 3] = nr;
        }
        return (u, stats);
    }

    private static double Sum(int lo, int hi, Func<int, double> f)
    {
        double acc = 0;
        for (int i = lo; i < hi; i++) acc += f(i);
        return acc;
    }

    /// <summary>
    /// Test gradients: per segment, g_u = sign·0.6·g_r + noise, so the segments with sign −1 conflict (cos &lt; 0)
    /// and those with +1 agree. Segment `zeroRetain` (if ≥ 0) gets g_r = 0.
    /// </summary>
    public static (double[] Gu, double[] Gr) Gradients(long[] offsets, int[] signs, int seed, int zeroRetain = -1, double scale = 1)
    {
        int n = (int)offsets[^1];
        double[] gr = Testing.OpHarness.Randn(n, seed, scale), noise = Testing.OpHarness.Randn(n, seed + 1, 0.5 * scale);
        var gu = new double[n];
        for (int s = 0; s < offsets.Length - 1; s++)
            for (long i = offsets[s]; i < offsets[s + 1]; i++)
            {
                if (s == zeroRetain) gr[i] = 0;
                gu[i] = (float)(signs[s] * 0.6 * gr[i] + noise[i]);
            }
        return (gu, gr);
    }
}
