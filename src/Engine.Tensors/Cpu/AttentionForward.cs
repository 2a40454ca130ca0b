using System.Runtime.CompilerServices;
using Engine.Cpu.Sgemm;
using Engine.Ops;

namespace Engine.Cpu;

/// <summary>
/// Blocked attention forward with the softmax fused (FlashAttention's online softmax) on the SGEMM micro-kernel.
/// First every (b, h)'s K is packed as token panels and V as feature panels, once. Then one task per (b, h, block of
/// queries) keeps, for each NR-query panel, Qᵀ, the running max m and sum l and the unnormalized output Oᵀ [D][NR],
/// and walks the keys in tiles: Sᵀ = scale·K·Qᵀ [keys][NR], the online softmax turns Sᵀ into Pᵀ in place, and
/// Oᵀ += Vᵀ·Pᵀ. No score matrix larger than one tile ever exists; the keys and values of a tile are read from cache
/// by every query panel of the block. Scores are kept in base 2 (2^x is cheaper than e^x); saves the natural
/// lse = (m + log2 l)·ln 2 per row for the backward.
/// A query's result depends only on the key tiles, never on the block it was in or on the thread count.
/// </summary>
internal static unsafe class AttentionForward
{
    private const float Ln2 = 0.6931472f;

    /// <summary>Floats per (b, h) in the K pack (token panels + slack for the packing's overlapping store).</summary>
    public static long KPackStride(in AttentionSpec s, int mr) => (long)AttentionKernels.RoundUp(s.Tk, mr) * s.HeadDim + 16;

    /// <summary>Floats per (b, h) in the V pack (feature panels).</summary>
    public static long VPackStride(in AttentionSpec s, int mr) =>
        (long)AttentionKernels.RoundUp(s.Tk, mr) * AttentionKernels.RoundUp(s.HeadDim, mr);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackKeys<TK>(float* kPack, float* vPack, float* k, float* v, in AttentionSpec s, int bh)
        where TK : struct, IMicroKernel
    {
        int mr = TK.MR, d = s.HeadDim, stride = s.Heads * d, tkp = AttentionKernels.RoundUp(s.Tk, mr);
        long offset = (long)(bh / s.Heads) * s.Tk * stride + bh % s.Heads * d;
        AttentionKernels.PackTokenPanels(kPack + bh * KPackStride(s, mr), mr, k + offset, stride, s.Tk, tkp, d);
        AttentionKernels.PackFeaturePanels(vPack + bh * VPackStride(s, mr), mr, v + offset, stride, s.Tk, tkp, d);
    }

    /// <summary>Floats of per-thread scratch one task needs.</summary>
    public static long ScratchFloats<TK>(in AttentionSpec s, int queryBlock, int keyTile)
        where TK : struct, IMicroKernel
    {
        int nr = TK.NR, panels = (queryBlock + nr - 1) / nr, dPad = AttentionKernels.RoundUp(s.HeadDim, TK.MR);
        return (long)panels * nr * (s.HeadDim + dPad + 2) + (long)keyTile * nr + 4L * nr + 64;
    }

    /// <param name="queryBlock">queries per task, a multiple of NR</param>
    /// <param name="keyTile">keys per tile, a multiple of MR</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block<TK>(float* o, float* lse, float* q, float* kPack, float* vPack, in AttentionSpec s, int task,
        int queryBlock, int keyTile, float* scratch)
        where TK : struct, IMicroKernel
    {
        int mr = TK.MR, nr = TK.NR, d = s.HeadDim, stride = s.Heads * d;
        int dPad = AttentionKernels.RoundUp(d, mr), tkp = AttentionKernels.RoundUp(s.Tk, mr);
        int blocks = (s.Tq + queryBlock - 1) / queryBlock, bh = task / blocks, b = bh / s.Heads, h = bh % s.Heads;
        int q0 = task % blocks * queryBlock, q1 = Math.Min(s.Tq, q0 + queryBlock), panels = (q1 - q0 + nr - 1) / nr;
        float scale2 = (float)(s.EffectiveScale * AttentionKernels.Log2E); // scores in base 2: exp(x) = 2^(x·log2 e)
        float* kp = kPack + bh * KPackStride(s, mr), vp = vPack + bh * VPackStride(s, mr);
        long rows = (long)b * s.Tq * stride + h * d;

        // Per panel: Qᵀ [D][nr], Oᵀ [dPad][nr], m, l; then one score tile and the softmax's per-column scratch.
        float* qt = scratch, ot = qt + (long)panels * d * nr, m = ot + (long)panels * dPad * nr, l = m + panels * nr;
        float* st = l + panels * nr, inverse = st + (long)keyTile * nr, log2L = inverse + nr;
        for (int p = 0; p < panels; p++)
        {
            int first = q0 + p * nr;
            AttentionKernels.PackTransposedPanel(qt + (long)p * d * nr, nr, q + rows + (long)first * stride, stride, Math.Min(nr, q1 - first), d);
        }
        new Span<float>(ot, panels * dPad * nr).Clear();
        new Span<float>(l, panels * nr).Clear();
        new Span<float>(m, panels * nr).Fill(float.NegativeInfinity);

        // Causal (Tq == Tk): the block's last query sees keys up to itself only.
        int keyEnd = s.Causal ? AttentionKernels.RoundUp(q1, mr) : tkp;
        for (int k0 = 0; k0 < keyEnd; k0 += keyTile)
        {
            int n = Math.Min(keyTile, keyEnd - k0);
            for (int p = 0; p < panels; p++)
            {
                int first = q0 + p * nr, last = Math.Min(q1, first + nr) - 1;
                if (s.Causal && k0 > last) continue; // the whole tile is in this panel's future
                float* qtp = qt + (long)p * d * nr, otp = ot + (long)p * dPad * nr;
                for (int r = 0; r < n; r += mr) TK.Run(d, kp + (long)(k0 + r) * d, qtp, nr, st + r * nr, nr, scale2, 0f);
                AttentionKernels.MaskTile(st, nr, n, k0, s.Tk, s.Causal, first, float.NegativeInfinity);
                AttentionKernels.OnlineSoftmax(st, n, nr, m + p * nr, l + p * nr, otp, dPad);
                for (int d0 = 0; d0 < dPad; d0 += mr) TK.Run(n, vp + (long)d0 * tkp + (long)k0 * mr, st, nr, otp + d0 * nr, nr, 1f, 1f);
            }
        }

        for (int p = 0; p < panels; p++)
        {
            int first = q0 + p * nr, count = Math.Min(nr, q1 - first);
            float* otp = ot + (long)p * dPad * nr, lp = l + p * nr, mp = m + p * nr;
            // lse = (m + log2 l)·ln 2 and o = Oᵀ/l (padded columns may divide by l = 0: never written out).
            var lpSpan = new ReadOnlySpan<float>(lp, nr);
            System.Numerics.Tensors.TensorPrimitives.Log2(lpSpan, new Span<float>(log2L, nr));
            System.Numerics.Tensors.TensorPrimitives.Divide(1f, lpSpan, new Span<float>(inverse, nr));
            for (int c = 0; c < count; c++) lse[(long)bh * s.Tq + first + c] = (mp[c] + log2L[c]) * Ln2;
            AttentionKernels.ScaleColumns(otp, nr, d, nr, inverse);
            AttentionKernels.UnpackFeatureRows(o + rows + (long)first * stride, stride, otp, nr, count, d);
        }
    }
}
