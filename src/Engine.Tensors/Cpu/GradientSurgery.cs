using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// DoCo's concept-preserving gradient on the CPU: the reference for the fused CUDA kernels in kernels/surgery.cu
/// (same formulas, same order of decisions; see that file's header and doco-spec.md §4).
/// Pass 1 sums ⟨g_u,g_u⟩, ⟨g_r,g_r⟩, ⟨g_u,g_r⟩ per segment in double (one segment per worker, in element
/// order, so the bits do not depend on the thread count); pass 2 turns them into per-segment coefficients
/// (a, b) and applies g_u ← a·g_u + b·g_r with one rounding.
/// </summary>
public static class GradientSurgery
{
    /// <summary>Global-norm clip factor as torch.nn.utils.clip_grad_norm_: min(1, max/(norm + 1e-6)); none for max ≤ 0.</summary>
    public static double ClipScale(double totalNorm, float maxNorm) =>
        maxNorm <= 0f ? 1.0 : Math.Min(1.0, maxNorm / (totalNorm + 1e-6));

    /// <summary>
    /// The per-segment decision, shared by nothing but mirrored line by line in surgery.cu: from the raw sums and
    /// the clip scales, the coefficient b on g_r (a is s_u) and the telemetry.
    /// </summary>
    public static (double B, double Cos, bool Fired) Coefficient(double uu, double rr, double ur, double su, double sr, in SurgerySpec spec)
    {
        double normU = su * Math.Sqrt(uu), normR = sr * Math.Sqrt(rr); // norms of the clipped gradients
        double dot = su * sr * ur;                                      // ⟨g_u,c, g_r,c⟩
        if (spec.Rule == SurgeryRule.Official)
        {
            double cos = dot / ((normU + 1e-8) * (normR + 1e-8));
            return cos < 0 ? (-spec.Lambda * cos * sr / (normR + 1e-8), cos, true) : (0.0, cos, false);
        }
        double c = normU > 0 && normR > 0 ? dot / (normU * normR) : 0.0;
        return dot < 0 ? (-spec.Lambda * dot / (normR * normR) * sr, c, true) : (0.0, c, false);
    }

    public static unsafe void Apply(Tensor gradU, Tensor stats, Tensor gradR, SegmentTable segments, in SurgerySpec spec, ParallelOptions workers, double[]? scratch = null)
    {
        Check.Numel(gradU, segments.Total, "gradU");
        Check.SameShape(gradU, gradR, "gradU", "gradR");
        Check.Shape(stats, new Shape(segments.Count + 1, 4), "stats");
        int nseg = segments.Count;
        float* gu = gradU.F32, gr = gradR.F32, st = stats.F32;
        long[] offsets = segments.Offsets;

        // Pass 1: raw sums per segment.
        var sums = scratch is not null && scratch.Length >= 3 * nseg ? scratch : new double[3 * nseg];
        Parallel.For(0, nseg, workers, s =>
        {
            double uu = 0, rr = 0, ur = 0;
            for (long i = offsets[s]; i < offsets[s + 1]; i++)
            {
                double u = gu[i], r = gr[i];
                uu += u * u;
                rr += r * r;
                ur += u * r;
            }
            sums[3 * s] = uu;
            sums[3 * s + 1] = rr;
            sums[3 * s + 2] = ur;
        });

        // Clip scales from the global norms (segments in order).
        double uuAll = 0, rrAll = 0;
        for (int s = 0; s < nseg; s++)
        {
            uuAll += sums[3 * s];
            rrAll += sums[3 * s + 1];
        }
        double su = ClipScale(Math.Sqrt(uuAll), spec.MaxNorm), sr = ClipScale(Math.Sqrt(rrAll), spec.MaxNorm);
        st[4 * nseg] = (float)Math.Sqrt(uuAll);
        st[4 * nseg + 1] = (float)Math.Sqrt(rrAll);
        st[4 * nseg + 2] = (float)su;
        st[4 * nseg + 3] = (float)sr;

        // Pass 2: coefficients, telemetry, update.
        var spec2 = spec;
        Parallel.For(0, nseg, workers, s =>
        {
            double uu = sums[3 * s], rr = sums[3 * s + 1], ur = sums[3 * s + 2];
            var (b, cos, fired) = Coefficient(uu, rr, ur, su, sr, spec2);
            st[4 * s] = (float)cos;
            st[4 * s + 1] = fired ? 1f : 0f;
            st[4 * s + 2] = (float)(su * Math.Sqrt(uu));
            st[4 * s + 3] = (float)(sr * Math.Sqrt(rr));
            float a = (float)su, bf = (float)b;
            for (long i = offsets[s]; i < offsets[s + 1]; i++)
                gu[i] = MathF.FusedMultiplyAdd(bf, gr[i], a * gu[i]);
        });
    }
}
