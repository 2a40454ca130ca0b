using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Adam / AdamW over flat buffers in one pass (read p, g, m, v; write p, m, v: 28 bytes per parameter),
/// following torch.optim's single-tensor implementation step for step:
/// <code>
/// if decoupled: p = p·(1 - lr·wd)           (AdamW)
/// else:         g = g + wd·p                (Adam with L2)
/// m = m + (1 - β1)·(g - m)                  (torch: exp_avg.lerp_(g, 1 - β1))
/// v = v·β2 + ((1 - β2)·g)·g                 (torch: exp_avg_sq.mul_(β2).addcmul_(g, g, 1 - β2))
/// p = p - (lr / (1 - β1^t)) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
/// </code>
/// The bias corrections are computed once per call in double and rounded to float, as torch does with
/// its Python-float scalars. Element-wise, so the bits do not depend on the thread count or vector width.
/// </summary>
public sealed partial class CpuOps
{
    private const int AdamChunk = 65536;

    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamSpec spec, int step)
    {
        Flat.CheckF32(param, nameof(param));
        Flat.CheckF32(grad, nameof(grad));
        Flat.CheckF32(m, nameof(m));
        Flat.CheckF32(v, nameof(v));
        Check.Numel(grad, param.Numel, nameof(grad));
        Check.Numel(m, param.Numel, nameof(m));
        Check.Numel(v, param.Numel, nameof(v));
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "Adam steps are 1-based");

        var k = new AdamConstants(spec, step);
        long n = param.Numel;
        nint pp = param.Ptr, pg = grad.Ptr, pm = m.Ptr, pv = v.Ptr;
        Parallel.For(0, Flat.Count(n, AdamChunk), Workers, c =>
        {
            long start = c * (long)AdamChunk;
            AdamChunkStep(pp, pg, pm, pv, start, (int)Math.Min(AdamChunk, n - start), k);
        });
    }

    /// <summary>Per-call scalars, each rounded to float once.</summary>
    private readonly struct AdamConstants
    {
        public readonly float Decay;        // AdamW: 1 - lr·wd (1 when not decoupled)
        public readonly float L2;           // Adam: wd (0 when decoupled)
        public readonly float OneMinusB1;
        public readonly float B2;
        public readonly float OneMinusB2;
        public readonly float StepSize;     // lr / (1 - β1^t)
        public readonly float Bc2Sqrt;      // sqrt(1 - β2^t)
        public readonly float Eps;

        public AdamConstants(in AdamSpec s, int step)
        {
            double lr = s.LearningRate, wd = s.WeightDecay, b1 = s.Beta1, b2 = s.Beta2;
            Decay = s.Decoupled ? (float)(1 - lr * wd) : 1f;
            L2 = s.Decoupled ? 0f : (float)wd;
            OneMinusB1 = (float)(1 - b1);
            B2 = (float)b2;
            OneMinusB2 = (float)(1 - b2);
            StepSize = (float)(lr / (1 - Math.Pow(b1, step)));
            Bc2Sqrt = (float)Math.Sqrt(1 - Math.Pow(b2, step));
            Eps = s.Eps;
        }
    }

    private static unsafe void AdamChunkStep(nint pp, nint pg, nint pm, nint pv, long start, int n, in AdamConstants k)
    {
        float* p = (float*)pp + start, g = (float*)pg + start, m = (float*)pm + start, v = (float*)pv + start;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var pi = Vector512.Load(p + i);
                var gi = Vector512.Load(g + i) + Vector512.Create(k.L2) * pi;
                pi *= Vector512.Create(k.Decay);
                var mi = Vector512.Load(m + i);
                mi += Vector512.Create(k.OneMinusB1) * (gi - mi);
                var vi = Vector512.Load(v + i) * Vector512.Create(k.B2) + Vector512.Create(k.OneMinusB2) * gi * gi;
                var denom = Vector512.Sqrt(vi) / Vector512.Create(k.Bc2Sqrt) + Vector512.Create(k.Eps);
                pi -= Vector512.Create(k.StepSize) * (mi / denom);
                pi.Store(p + i);
                mi.Store(m + i);
                vi.Store(v + i);
            }
        }
        for (; i + 8 <= n; i += 8)
        {
            var pi = Vector256.Load(p + i);
            var gi = Vector256.Load(g + i) + Vector256.Create(k.L2) * pi;
            pi *= Vector256.Create(k.Decay);
            var mi = Vector256.Load(m + i);
            mi += Vector256.Create(k.OneMinusB1) * (gi - mi);
            var vi = Vector256.Load(v + i) * Vector256.Create(k.B2) + Vector256.Create(k.OneMinusB2) * gi * gi;
            var denom = Vector256.Sqrt(vi) / Vector256.Create(k.Bc2Sqrt) + Vector256.Create(k.Eps);
            pi -= Vector256.Create(k.StepSize) * (mi / denom);
            pi.Store(p + i);
            mi.Store(m + i);
            vi.Store(v + i);
        }
        for (; i < n; i++) AdamScalar(ref p[i], g[i], ref m[i], ref v[i], k);
    }

    /// <summary>The same float operations as the vector loops, in the same order, so every element gets the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AdamScalar(ref float p, float g, ref float m, ref float v, in AdamConstants k)
    {
        g += k.L2 * p;
        p *= k.Decay;
        m += k.OneMinusB1 * (g - m);
        v = v * k.B2 + k.OneMinusB2 * g * g;
        float denom = MathF.Sqrt(v) / k.Bc2Sqrt + k.Eps;
        p -= k.StepSize * (m / denom);
    }
}
