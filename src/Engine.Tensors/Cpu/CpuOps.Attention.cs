using System.Numerics.Tensors;
using Engine.Cpu.Sgemm;
using Engine.Ops;
using Engine.Tensors;
using Tensor = Engine.Tensors.Tensor;

namespace Engine.Cpu;

/// <summary>
/// Scaled-dot-product attention on the interleaved layout q [B, Tq, H, D] (what to_q makes), blocked and fused
/// (FlashAttention on the CPU): <see cref="AttentionForward"/> and <see cref="AttentionBackward"/> run every product
/// on the SGEMM micro-kernel over tiles that stay in cache, with the softmax applied tile by tile in between; no
/// [Tq, Tk] matrix is ever stored. The forward saves lse = max + log(sum) per row; the backward recomputes the
/// probabilities from it. Work is split into tasks of fixed size (never derived from Threads), each owning its
/// outputs, so the bits do not depend on the thread count.
/// </summary>
public sealed partial class CpuOps
{
    /// <summary>
    /// Queries per forward task and per backward dK/dV update (rounded up to the micro-kernel's NR). Fixed, never
    /// derived from Threads; settable only so tests can cover block edges with tiny shapes.
    /// </summary>
    internal int AttentionQueryBlock { get; init; } = 128;

    /// <summary>Keys per tile, forward and backward (rounded up to the micro-kernel's MR). Settable for tests only.</summary>
    internal int AttentionKeyTile { get; init; } = 192;

    /// <summary>
    /// Keys per backward task. The task owns dk and dv of its keys outright (sums over all queries, in order);
    /// fixed, so the split and therefore the bits never depend on the thread count. Settable for tests only.
    /// </summary>
    internal int AttentionKeyBlock { get; init; } = 1024;

    // Per-thread scratch (query panels, tiles), grown once per thread and reused: no per-call allocation.
    [ThreadStatic] private static float[]? t_attentionScratch;

    /// <summary>This thread's scratch, at least <paramref name="floats"/> long from a 64-byte aligned start.</summary>
    private static float[] AttentionScratch(long floats)
    {
        var s = t_attentionScratch;
        if (s is null || s.Length < floats + 16)
            t_attentionScratch = s = GC.AllocateUninitializedArray<float>(checked((int)(floats + 16)), pinned: true);
        return s;
    }

    private static unsafe float* Aligned(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>body(0 .. count-1) on the workers; inline (on this thread, in order) for one worker or one task.</summary>
    private void AttentionFor(int count, Action<int> body)
    {
        if (count == 1 || Threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, Workers, body);
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
        switch (SgemmDriver.Resolve(GemmKernel))
        {
            case GemmKernel.Avx512: AttentionForward<Avx512Kernel>(o, lse, q, k, v, spec); break;
            case GemmKernel.Avx2: AttentionForward<Avx2Kernel>(o, lse, q, k, v, spec); break;
            default: AttentionForward<ScalarKernel>(o, lse, q, k, v, spec); break;
        }
    }

    // K and V of every (b, h), packed once per forward for all of that head's query blocks; grown once and kept.
    private float[] _attentionKeyPack = [];

    private unsafe void AttentionForward<TK>(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionSpec s)
        where TK : struct, IMicroKernel
    {
        int heads = s.B * s.Heads;
        long kStride = Cpu.AttentionForward.KPackStride(s, TK.MR), vStride = Cpu.AttentionForward.VPackStride(s, TK.MR);
        long packFloats = heads * (kStride + vStride) + 16;
        if (_attentionKeyPack.Length < packFloats)
            _attentionKeyPack = GC.AllocateUninitializedArray<float>(checked((int)packFloats), pinned: true);
        var pack = _attentionKeyPack;
        AttentionFor(heads, bh =>
        {
            fixed (float* pp = pack)
            {
                float* kPack = Aligned(pp);
                Cpu.AttentionForward.PackKeys<TK>(kPack, kPack + heads * kStride, k.F32, v.F32, s, bh);
            }
        });

        int queryBlock = AttentionKernels.RoundUp(AttentionQueryBlock, TK.NR), keyTile = AttentionKernels.RoundUp(AttentionKeyTile, TK.MR);
        long scratch = Cpu.AttentionForward.ScratchFloats<TK>(s, queryBlock, keyTile);
        int blocks = (s.Tq + queryBlock - 1) / queryBlock;
        AttentionFor(heads * blocks, task =>
        {
            var buffer = AttentionScratch(scratch);
            fixed (float* sp = buffer)
            fixed (float* pp = pack)
            {
                float* kPack = Aligned(pp);
                Cpu.AttentionForward.Block<TK>(o.F32, lse.F32, q.F32, kPack, kPack + heads * kStride, s, task, queryBlock, keyTile, Aligned(sp));
            }
        });
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec)
    {
        CheckAttention(o, q, k, v, lse, spec, "o");
        Check.Numel(dout, spec.QShape.Numel, "dout");
        if (!dq.IsNone) Check.Numel(dq, spec.QShape.Numel, "dq");
        if (!dk.IsNone) Check.Numel(dk, spec.KvShape.Numel, "dk");
        if (!dv.IsNone) Check.Numel(dv, spec.KvShape.Numel, "dv");
        if (dq.IsNone && dk.IsNone && dv.IsNone) return;
        switch (SgemmDriver.Resolve(GemmKernel))
        {
            case GemmKernel.Avx512: AttentionBackward<Avx512Kernel>(dq, dk, dv, dout, q, k, v, o, lse, spec); break;
            case GemmKernel.Avx2: AttentionBackward<Avx2Kernel>(dq, dk, dv, dout, q, k, v, o, lse, spec); break;
            default: AttentionBackward<ScalarKernel>(dq, dk, dv, dout, q, k, v, o, lse, spec); break;
        }
    }

    private unsafe void AttentionBackward<TK>(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, AttentionSpec s)
        where TK : struct, IMicroKernel
    {
        int keyBlock = AttentionKeyBlock, keyBlocks = (s.Tk + keyBlock - 1) / keyBlock;
        int queryTile = AttentionKernels.RoundUp(AttentionQueryBlock, TK.NR), keyTile = AttentionKernels.RoundUp(AttentionKeyTile, TK.MR);
        long scratch = Cpu.AttentionBackward.ScratchFloats<TK>(s, queryTile, keyTile);
        long slice = (long)s.B * s.Tq * s.Heads * s.HeadDim;
        // With several key blocks each task's dq is a partial sum over its keys: kept per block, added in order below.
        float[] partials = !dq.IsNone && keyBlocks > 1 ? AttentionDqPartials(keyBlocks * slice) : [];
        AttentionFor(s.B * s.Heads * keyBlocks, task =>
        {
            var buffer = AttentionScratch(scratch);
            fixed (float* sp = buffer)
            fixed (float* pp = partials)
            {
                float* dqOut = dq.IsNone ? null : partials.Length > 0 ? pp + task % keyBlocks * slice : dq.F32;
                Cpu.AttentionBackward.Block<TK>(dqOut, dk.IsNone ? null : dk.F32, dv.IsNone ? null : dv.F32, dout.F32, q.F32, k.F32, v.F32,
                    o.F32, lse.F32, s, task, keyBlock, queryTile, keyTile, Aligned(sp));
            }
        });
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

    /// <summary>dq = Σ over key blocks of the partial dq, blocks in order (causal: only blocks the row can see).</summary>
    private void SumDqPartials(Tensor dq, float[] partials, AttentionSpec s, int keyBlock, int keyBlocks)
    {
        int D = s.HeadDim, rowStride = s.Heads * D;
        long blockStride = (long)s.B * s.Tq * rowStride;
        int rowsPerChunk = 64;
        int chunks = (s.B * s.Tq + rowsPerChunk - 1) / rowsPerChunk;
        AttentionFor(chunks, chunk =>
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
