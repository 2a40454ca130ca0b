using System.Numerics.Tensors;
using Engine.Ops;
using Engine.Tensors;
using Tensor = Engine.Tensors.Tensor;

namespace Engine.Cpu;

/// <summary>
/// Memory-efficient scaled-dot-product attention on the interleaved layout q [B, Tq, H, D] (what to_q makes):
/// no [Tq, Tk] matrix is ever stored, only one score row per query of a 4-row block, per thread.
/// Forward: one task per (b, h, block of 128 queries); each packs its keys and values transposed, computes
/// exact two-pass softmax rows (max, exp, sum) and saves lse = max + log(sum).
/// Backward (FlashAttention's recompute): P = exp(s - lse), D_i = dO_i·O_i, dS = P ⊙ (dP - D), then
/// dq = scale·dS·K, dk = scale·dSᵀ·Q, dv = Pᵀ·dO. One task per (b, h, block of 1024 keys) walks all query rows
/// in order, so its dk/dv sums have one fixed order whatever the thread count; with several key blocks, each
/// block's share of dq goes to a scratch slice and the slices are added in block order afterwards.
/// </summary>
public sealed partial class CpuOps
{
    /// <summary>
    /// Queries per forward task: enough tasks to spread over threads, few enough that packing K and V is cheap.
    /// Fixed (never derived from Threads); settable only so tests can cover block edges with tiny shapes.
    /// </summary>
    internal int AttentionQueryBlock { get; init; } = 128;

    /// <summary>
    /// Keys per backward task. The task owns dk and dv of its keys outright (sums over all queries, in order);
    /// fixed, so the split and therefore the bits never depend on the thread count. Settable for tests only.
    /// </summary>
    internal int AttentionKeyBlock { get; init; } = 1024;

    // Per-thread scratch (packed K/V, score rows), grown once per thread and reused: no per-call allocation.
    [ThreadStatic] private static float[]? t_attentionScratch;

    private static float[] AttentionScratch(long floats)
    {
        var s = t_attentionScratch;
        if (s is null || s.Length < floats)
            t_attentionScratch = s = GC.AllocateUninitializedArray<float>(checked((int)floats), pinned: true);
        return s;
    }

    private static void CheckAttention(Tensor o, Tensor q, Tensor k, Tensor v, Tensor lse, in AttentionSpec spec, string oName)
    {
        Check.Positive(spec.B, "spec.B");
        Check.Positive(spec.Tq, "spec.Tq");
        Check.Positive(spec.Tk, "spec.Tk");
        Check.Positive(spec.Heads, "spec.Heads");
        Check.Positive(spec.HeadDim, "spec.HeadDim");
        if (spec.Causal && spec.Tq != spec.Tk)
            throw new ArgumentException($"causal attention needs Tq == Tk, got Tq {spec.Tq} and Tk {spec.Tk}");
        if (!float.IsFinite(spec.EffectiveScale)) throw new ArgumentException($"attention scale {spec.Scale} is not finite");
        // Any shape with the right element count: [B, T, H·D] from a projection is the same memory as [B, T, H, D].
        Check.Numel(q, spec.QShape.Numel, "q");
        Check.Numel(k, spec.KvShape.Numel, "k");
        Check.Numel(v, spec.KvShape.Numel, "v");
        Check.Numel(o, spec.QShape.Numel, oName);
        Check.Numel(lse, spec.LseShape.Numel, "lse");
    }

    public void AttentionForward(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec)
    {
        CheckAttention(o, q, k, v, lse, spec, "o");
        var s = spec;
        int queryBlock = AttentionQueryBlock, queryBlocks = (s.Tq + queryBlock - 1) / queryBlock;
        Parallel.For(0, s.B * s.Heads * queryBlocks, Workers, task => AttentionForwardBlock(o, lse, q, k, v, s, task, queryBlock, queryBlocks));
    }

    private static unsafe void AttentionForwardBlock(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionSpec s, int task, int queryBlock, int queryBlocks)
    {
        int D = s.HeadDim, rowStride = s.Heads * D;
        int bh = task / queryBlocks, b = bh / s.Heads, h = bh % s.Heads;
        int i0 = task % queryBlocks * queryBlock, i1 = Math.Min(s.Tq, i0 + queryBlock);
        int keys = s.Causal ? i1 : s.Tk; // causal rows of this block see keys < i1 only
        int n8 = AttentionKernels.Round8(keys), ld = AttentionKernels.PackedStride(n8);
        float scale = s.EffectiveScale;

        float* qh = q.F32 + (long)b * s.Tq * rowStride + h * D;
        float* oh = o.F32 + (long)b * s.Tq * rowStride + h * D;
        float* kh = k.F32 + (long)b * s.Tk * rowStride + h * D;
        float* vh = v.F32 + (long)b * s.Tk * rowStride + h * D;
        float* lseh = lse.F32 + (long)bh * s.Tq;

        const int R = AttentionKernels.Rows;
        var scratch = AttentionScratch(2L * D * ld + R * (long)n8 + R * D);
        fixed (float* sp = scratch)
        {
            float* kt = sp, vt = kt + (long)D * ld, scores = vt + (long)D * ld, qs = scores + R * (long)n8;
            AttentionKernels.PackTransposed(kt, ld, kh, rowStride, keys, n8, D);
            AttentionKernels.PackTransposed(vt, ld, vh, rowStride, keys, n8, D);
            float* rowSum = stackalloc float[R];
            float* column = stackalloc float[R];

            for (int i = i0; i < i1; i += R)
            {
                int rows = Math.Min(R, i1 - i);
                PackQueryRows(qs, qh + (long)i * rowStride, rowStride, rows, D, scale);
                int blockKeys8 = AttentionKernels.Round8(s.Causal ? i + rows : s.Tk);
                AttentionKernels.Scores4(scores, n8, qs, kt, ld, D, blockKeys8);

                for (int r = 0; r < R; r++)
                {
                    int len = r >= rows ? 0 : s.Causal ? i + r + 1 : s.Tk;
                    float* sr = scores + r * (long)n8;
                    new Span<float>(sr + len, blockKeys8 - len).Clear(); // masked keys, missing rows: weight 0
                    if (len == 0) continue;
                    var row = new Span<float>(sr, len);
                    // Two-pass softmax on the whole row: exact, and the row is all this thread holds.
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, row);
                    TensorPrimitives.Exp(row, row);
                    rowSum[r] = AttentionKernels.Sum(sr, len);
                    lseh[i + r] = max + MathF.Log(rowSum[r]);
                }

                // o = (unnormalized P)·v / sum, one head-dim column of four rows at a time.
                for (int d = 0; d < D; d++)
                {
                    AttentionKernels.Dot4(scores, n8, vt + (long)d * ld, blockKeys8, column);
                    for (int r = 0; r < rows; r++) oh[(long)(i + r) * rowStride + d] = column[r] / rowSum[r];
                }
            }
        }
    }

    /// <summary>Copies up to 4 rows (times alpha) into a dense [4, D] block, zero-filling the missing rows.</summary>
    private static unsafe void PackQueryRows(float* dst, float* src, int srcStride, int rows, int headDim, float alpha)
    {
        for (int r = 0; r < AttentionKernels.Rows; r++)
            for (int d = 0; d < headDim; d++)
                dst[r * headDim + d] = r < rows ? src[(long)r * srcStride + d] * alpha : 0f;
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec)
    {
        CheckAttention(o, q, k, v, lse, spec, "o");
        Check.Numel(dout, spec.QShape.Numel, "dout");
        if (!dq.IsNone) Check.Numel(dq, spec.QShape.Numel, "dq");
        if (!dk.IsNone) Check.Numel(dk, spec.KvShape.Numel, "dk");
        if (!dv.IsNone) Check.Numel(dv, spec.KvShape.Numel, "dv");
        if (dq.IsNone && dk.IsNone && dv.IsNone) return;
        var s = spec;
        int keyBlock = AttentionKeyBlock, keyBlocks = (s.Tk + keyBlock - 1) / keyBlock;
        // With several key blocks each task's dq is a partial sum over its keys: kept per block, added in order below.
        float[] partials = !dq.IsNone && keyBlocks > 1 ? AttentionDqPartials((long)keyBlocks * s.B * s.Tq * s.Heads * s.HeadDim) : [];
        Parallel.For(0, s.B * s.Heads * keyBlocks, Workers,
            task => AttentionBackwardBlock(dq, dk, dv, dout, q, k, v, o, lse, s, task, keyBlock, keyBlocks, partials));
        if (partials.Length > 0) SumDqPartials(dq, partials, s, keyBlock, keyBlocks);
    }

    // dq partial sums, one [B, Tq, H, D] slice per key block (only when Tk > AttentionKeyBlock; 21 MB for SD's
    // 4096-token self-attention at B = 1), grown once and kept.
    private float[] _attentionDqPartials = [];

    private float[] AttentionDqPartials(long floats)
    {
        if (_attentionDqPartials.Length < floats)
            _attentionDqPartials = GC.AllocateUninitializedArray<float>(checked((int)floats), pinned: true);
        return _attentionDqPartials;
    }

    private static unsafe void AttentionBackwardBlock(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        AttentionSpec s, int task, int keyBlock, int keyBlocks, float[] partials)
    {
        int D = s.HeadDim, rowStride = s.Heads * D;
        int bh = task / keyBlocks, kb = task % keyBlocks, b = bh / s.Heads, h = bh % s.Heads;
        int j0 = kb * keyBlock, keys = Math.Min(s.Tk, j0 + keyBlock) - j0;
        int n8 = AttentionKernels.Round8(keys), ld = AttentionKernels.PackedStride(n8);
        float scale = s.EffectiveScale;
        long qOffset = (long)b * s.Tq * rowStride + h * D, kOffset = ((long)b * s.Tk + j0) * rowStride + h * D;
        float* qh = q.F32 + qOffset, oh = o.F32 + qOffset, doh = dout.F32 + qOffset;
        float* kh = k.F32 + kOffset, vh = v.F32 + kOffset;
        float* lseh = lse.F32 + (long)bh * s.Tq;

        const int R = AttentionKernels.Rows;
        var scratch = AttentionScratch(4L * D * ld + 2L * R * n8 + 2 * R * D);
        fixed (float* sp = scratch)
        fixed (float* pp = partials)
        {
            float* kt = sp, vt = kt + (long)D * ld, dkt = vt + (long)D * ld, dvt = dkt + (long)D * ld;
            float* p = dvt + (long)D * ld, ds = p + R * (long)n8, qs = ds + R * (long)n8, dos = qs + R * D;
            // dq rows of this task: dq itself, or this key block's slice [B, Tq, H, D] of the partial sums.
            float* dqh = dq.IsNone ? null : partials.Length > 0 ? pp + (long)kb * s.B * s.Tq * rowStride + qOffset : dq.F32 + qOffset;
            AttentionKernels.PackTransposed(kt, ld, kh, rowStride, keys, n8, D);
            AttentionKernels.PackTransposed(vt, ld, vh, rowStride, keys, n8, D);
            new Span<float>(dkt, 2 * D * ld).Clear(); // dkt and dvt: sums over all query rows
            float* column = stackalloc float[R];

            // Causal: queries before j0 see none of these keys (their dq partial is skipped by SumDqPartials).
            for (int i = s.Causal ? j0 : 0; i < s.Tq; i += R)
            {
                int rows = Math.Min(R, s.Tq - i);
                PackQueryRows(qs, qh + (long)i * rowStride, rowStride, rows, D, scale);
                PackQueryRows(dos, doh + (long)i * rowStride, rowStride, rows, D, 1f);
                int blockKeys8 = AttentionKernels.Round8(s.Causal ? Math.Min(keys, i + rows - j0) : keys);
                AttentionKernels.Scores4(p, n8, qs, kt, ld, D, blockKeys8);   // scaled scores
                AttentionKernels.Scores4(ds, n8, dos, vt, ld, D, blockKeys8); // dP = dO·vᵀ

                for (int r = 0; r < R; r++)
                {
                    float* pr = p + r * (long)n8, dsr = ds + r * (long)n8;
                    int len = r >= rows ? 0 : s.Causal ? Math.Min(keys, i + r + 1 - j0) : keys;
                    // Masked keys and missing rows must add nothing to dk and dv.
                    new Span<float>(pr + len, blockKeys8 - len).Clear();
                    new Span<float>(dsr + len, blockKeys8 - len).Clear();
                    if (len == 0) continue;

                    var pRow = new Span<float>(pr, len);
                    var dsRow = new Span<float>(dsr, len);
                    TensorPrimitives.Subtract(pRow, lseh[i + r], pRow);
                    TensorPrimitives.Exp(pRow, pRow); // P recomputed from the saved lse: no softmax pass needed
                    float rowDot = AttentionKernels.Dot(doh + (long)(i + r) * rowStride, oh + (long)(i + r) * rowStride, D);
                    TensorPrimitives.Subtract(dsRow, rowDot, dsRow);
                    TensorPrimitives.Multiply(dsRow, pRow, dsRow); // dS = P ⊙ (dP - D_i)

                }
                if (dqh != null)
                {
                    // dq = scale·dS·k, one head-dim column of four rows at a time.
                    for (int d = 0; d < D; d++)
                    {
                        AttentionKernels.Dot4(ds, n8, kt + (long)d * ld, blockKeys8, column);
                        for (int r = 0; r < rows; r++) dqh[(long)(i + r) * rowStride + d] = scale * column[r];
                    }
                }
                if (!dv.IsNone) AttentionKernels.Accumulate4(dvt, ld, dos, p, n8, D, blockKeys8);
                if (!dk.IsNone) AttentionKernels.Accumulate4(dkt, ld, qs, ds, n8, D, blockKeys8);
            }
            if (!dk.IsNone) AttentionKernels.UnpackTransposed(dk.F32 + kOffset, rowStride, dkt, ld, keys, D);
            if (!dv.IsNone) AttentionKernels.UnpackTransposed(dv.F32 + kOffset, rowStride, dvt, ld, keys, D);
        }
    }

    /// <summary>dq = Σ over key blocks of the partial dq, blocks in order (causal: only blocks the row can see).</summary>
    private void SumDqPartials(Tensor dq, float[] partials, AttentionSpec s, int keyBlock, int keyBlocks)
    {
        int D = s.HeadDim, rowStride = s.Heads * D;
        long blockStride = (long)s.B * s.Tq * rowStride;
        int rowsPerChunk = 64;
        int chunks = (s.B * s.Tq + rowsPerChunk - 1) / rowsPerChunk;
        Parallel.For(0, chunks, Workers, chunk =>
        {
            unsafe
            {
                fixed (float* pp = partials)
                {
                    int end = Math.Min(s.B * s.Tq, (chunk + 1) * rowsPerChunk);
                    for (int row = chunk * rowsPerChunk; row < end; row++) // row = b·Tq + i
                    {
                        int i = row % s.Tq;
                        int visible = s.Causal ? Math.Min(keyBlocks, i / keyBlock + 1) : keyBlocks;
                        float* dst = dq.F32 + (long)row * rowStride;
                        float* src = pp + (long)row * rowStride;
                        new Span<float>(src, rowStride).CopyTo(new Span<float>(dst, rowStride));
                        for (int kb = 1; kb < visible; kb++)
                        {
                            var part = new ReadOnlySpan<float>(src + kb * blockStride, rowStride);
                            TensorPrimitives.Add(new ReadOnlySpan<float>(dst, rowStride), part, new Span<float>(dst, rowStride));
                        }
                    }
                }
            }
        });
    }
}
