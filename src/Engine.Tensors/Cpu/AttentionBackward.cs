using System.Runtime.CompilerServices;
using Engine.Cpu.Sgemm;
using Engine.Ops;

namespace Engine.Cpu;

/// <summary>
/// Blocked attention backward (FlashAttention's recompute) on the SGEMM micro-kernel. One task per (b, h, block of
/// keys) owns dk and dv of its keys. It packs the queries' side once (Qᵀ and dOᵀ as B panels, Q and dO as feature
/// panels, lse and D_i = dO_i·O_i), then walks its keys in tiles and, per tile, all query panels in order:
/// <code>
/// Sᵀ = scale·K·Qᵀ,  Pᵀ = exp(Sᵀ − lse)          (keys × queries, one query per SIMD lane; base 2 inside)
/// dPᵀ = V·dOᵀ,      dSᵀ = Pᵀ ⊙ (dPᵀ − D)
/// dQᵀ += Kᵀ·dSᵀ                                  (per query panel, summed over all the block's keys)
/// dVᵀ += dOᵀ·P,     dKᵀ += Qᵀ·dS                 (per query tile: P and dS transposed into key panels)
/// </code>
/// so no tile larger than keys-per-tile × queries-per-tile exists and the tile's K, V, dK, dV stay in cache while
/// the queries stream past. Every sum runs in one fixed order (query panels ascending, key tiles ascending), so the
/// bits do not depend on the thread count; with several key blocks each block's dq goes to its own slice and the
/// slices are added in block order by the caller.
/// </summary>
internal static unsafe class AttentionBackward
{
    private static long Align(long floats) => (floats + 15) & ~15L;

    private static float* Take(ref float* next, long floats)
    {
        float* p = next;
        next += Align(floats);
        return p;
    }

    /// <summary>Floats of per-thread scratch one task needs.</summary>
    public static long ScratchFloats<TK>(in AttentionSpec s, int queryTile, int keyTile)
        where TK : struct, IMicroKernel
    {
        int nr = TK.NR, d = s.HeadDim, dPad = AttentionKernels.RoundUp(d, TK.MR);
        long tqp = AttentionKernels.RoundUp(s.Tq, nr), rows = keyTile + nr;
        return 2 * Align(tqp * d) + 2 * Align(dPad * tqp) + 2 * Align(tqp) + Align(dPad * tqp)
            + 2 * Align((long)keyTile * d + 16) + Align((long)dPad * keyTile) + 2 * Align(dPad * rows)
            + 2 * Align(rows * nr) + 2 * Align(rows * queryTile) + 32;
    }

    /// <param name="dqOut">where this block's dq goes: dq itself, or this block's slice of the partial sums (null: no dq)</param>
    /// <param name="queryTile">queries per dK/dV update, a multiple of NR</param>
    /// <param name="keyTile">keys per tile, a multiple of MR</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block<TK>(float* dqOut, float* dk, float* dv, float* dout, float* q, float* k, float* v, float* o, float* lse,
        in AttentionSpec s, int task, int keyBlock, int queryTile, int keyTile, float* scratch)
        where TK : struct, IMicroKernel
    {
        int mr = TK.MR, nr = TK.NR, d = s.HeadDim, stride = s.Heads * d, dPad = AttentionKernels.RoundUp(d, mr);
        int keyBlocks = (s.Tk + keyBlock - 1) / keyBlock, bh = task / keyBlocks, kb = task % keyBlocks;
        int b = bh / s.Heads, h = bh % s.Heads;
        int j0 = kb * keyBlock, j1 = Math.Min(s.Tk, j0 + keyBlock);
        int qPanels = (s.Tq + nr - 1) / nr, tqp = qPanels * nr, tilePanels = queryTile / nr;
        float scale = s.EffectiveScale, scale2 = (float)(scale * AttentionKernels.Log2E); // scores in base 2, as in the forward
        long qRows = (long)b * s.Tq * stride + h * d, kRows = (long)b * s.Tk * stride + h * d;
        float* lseh = lse + (long)bh * s.Tq;

        float* next = scratch;
        float* qt = Take(ref next, (long)tqp * d), dot = Take(ref next, (long)tqp * d); // B panels [panel][D][nr]
        float* qd = Take(ref next, (long)dPad * tqp), dod = Take(ref next, (long)dPad * tqp); // feature panels [D/mr][tqp][mr]
        float* lseV = Take(ref next, tqp), delta = Take(ref next, tqp);
        float* dqt = Take(ref next, (long)dPad * tqp); // dQᵀ: [panel][dPad][nr]
        float* kp = Take(ref next, (long)keyTile * d + 16), vp = Take(ref next, (long)keyTile * d + 16);
        float* kd = Take(ref next, (long)dPad * keyTile);
        int rowsMax = keyTile + nr;
        float* dkt = Take(ref next, (long)dPad * rowsMax), dvt = Take(ref next, (long)dPad * rowsMax);
        float* st = Take(ref next, (long)rowsMax * nr), dst = Take(ref next, (long)rowsMax * nr);
        float* pb = Take(ref next, (long)rowsMax * queryTile), dsb = Take(ref next, (long)rowsMax * queryTile);

        // Causal: queries before j0 see none of these keys, so their panels are neither packed nor visited.
        int firstPanel = s.Causal ? j0 / nr : 0;
        for (int p = firstPanel; p < qPanels; p++)
        {
            int first = p * nr, count = Math.Min(nr, s.Tq - first);
            float* qSrc = q + qRows + (long)first * stride, doSrc = dout + qRows + (long)first * stride;
            AttentionKernels.PackTransposedPanel(qt + (long)p * d * nr, nr, qSrc, stride, count, d);
            AttentionKernels.PackTransposedPanel(dot + (long)p * d * nr, nr, doSrc, stride, count, d);
            for (int c = 0; c < nr; c++)
            {
                // A padded query has lse = +inf: its probabilities are exp(-inf) = 0 and it adds nothing anywhere.
                lseV[first + c] = c < count ? (float)(lseh[first + c] * AttentionKernels.Log2E) : float.PositiveInfinity;
                delta[first + c] = c < count ? AttentionKernels.Dot(doSrc + (long)c * stride, o + qRows + (long)(first + c) * stride, d) : 0f;
            }
        }
        int packed = tqp - firstPanel * nr;
        if (dk != null) AttentionKernels.PackFeaturePanels(qd + (long)firstPanel * nr * mr, mr, q + qRows + (long)firstPanel * nr * stride, stride, s.Tq - firstPanel * nr, packed, d, tqp);
        if (dv != null) AttentionKernels.PackFeaturePanels(dod + (long)firstPanel * nr * mr, mr, dout + qRows + (long)firstPanel * nr * stride, stride, s.Tq - firstPanel * nr, packed, d, tqp);
        if (dqOut != null) new Span<float>(dqt, dPad * tqp).Clear();

        for (int k0 = j0; k0 < j1; k0 += keyTile)
        {
            int n = Math.Min(keyTile, j1 - k0), nMR = AttentionKernels.RoundUp(n, mr), nNR = AttentionKernels.RoundUp(n, nr);
            int rows = Math.Max(nMR, nNR);
            float* kSrc = k + kRows + (long)k0 * stride, vSrc = v + kRows + (long)k0 * stride;
            AttentionKernels.PackTokenPanels(kp, mr, kSrc, stride, n, nMR, d);
            AttentionKernels.PackTokenPanels(vp, mr, vSrc, stride, n, nMR, d);
            if (dqOut != null) AttentionKernels.PackFeaturePanels(kd, mr, kSrc, stride, n, nMR, d);
            if (dk != null) new Span<float>(dkt, dPad * nNR).Clear();
            if (dv != null) new Span<float>(dvt, dPad * nNR).Clear();
            new Span<float>(st + nMR * nr, (rows - nMR) * nr).Clear(); // keys past the A panels: zero rows in the key panels
            new Span<float>(dst + nMR * nr, (rows - nMR) * nr).Clear();

            int start = s.Causal ? k0 / nr : 0;
            for (int t0 = start; t0 < qPanels; t0 += tilePanels)
            {
                int tp = Math.Min(tilePanels, qPanels - t0), mq = tp * nr;
                for (int i = 0; i < tp; i++)
                {
                    int p = t0 + i, first = p * nr;
                    for (int r = 0; r < nMR; r += mr)
                    {
                        TK.Run(d, kp + r * d, qt + (long)p * d * nr, nr, st + r * nr, nr, scale2, 0f);
                        TK.Run(d, vp + r * d, dot + (long)p * d * nr, nr, dst + r * nr, nr, 1f, 0f);
                    }
                    AttentionKernels.MaskTile(st, nr, nMR, k0, k0 + n, s.Causal, first, float.NegativeInfinity);
                    AttentionKernels.SoftmaxBackward(st, dst, nMR, nr, lseV + first, delta + first);
                    if (dqOut != null)
                    {
                        float* dqp = dqt + (long)p * dPad * nr;
                        for (int d0 = 0; d0 < dPad; d0 += mr) TK.Run(nMR, kd + (long)d0 * nMR, dst, nr, dqp + d0 * nr, nr, 1f, 1f);
                    }
                    if (dv != null) AttentionKernels.TransposeTile(pb + i * nr * nr, mq * nr, st, nNR, nr);
                    if (dk != null) AttentionKernels.TransposeTile(dsb + i * nr * nr, mq * nr, dst, nNR, nr);
                }
                for (int d0 = 0; d0 < dPad; d0 += mr)
                {
                    long a = (long)d0 * tqp + (long)t0 * nr * mr;
                    for (int g = 0; g < nNR; g += nr)
                    {
                        long bp = (long)g * mq;
                        if (dv != null) TK.Run(mq, dod + a, pb + bp, nr, dvt + (long)d0 * nNR + g, nNR, 1f, 1f);
                        if (dk != null) TK.Run(mq, qd + a, dsb + bp, nr, dkt + (long)d0 * nNR + g, nNR, 1f, 1f);
                    }
                }
            }
            if (dk != null)
            {
                AttentionKernels.Scale(dkt, (long)d * nNR, scale);
                AttentionKernels.UnpackFeatureRows(dk + kRows + (long)k0 * stride, stride, dkt, nNR, n, d);
            }
            if (dv != null) AttentionKernels.UnpackFeatureRows(dv + kRows + (long)k0 * stride, stride, dvt, nNR, n, d);
        }

        if (dqOut != null)
        {
            for (int p = 0; p < qPanels; p++)
            {
                int first = p * nr;
                float* dqp = dqt + (long)p * dPad * nr;
                AttentionKernels.Scale(dqp, (long)d * nr, scale);
                AttentionKernels.UnpackFeatureRows(dqOut + qRows + (long)first * stride, stride, dqp, nr, Math.Min(nr, s.Tq - first), d);
            }
        }
    }
}
