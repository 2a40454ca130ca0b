using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void AttentionForward(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec)
    {
        CheckAttention(o, "o", lse, q, k, v, spec);
        AttentionKernels.Forward(_k, F(o, nameof(o)), F(lse, nameof(lse)), F(q, nameof(q)), F(k, nameof(k)), F(v, nameof(v)), spec);
    }

    /// <summary>dq, dk, dv overwritten; None ones are skipped (the kernels skip a zero pointer).</summary>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec)
    {
        CheckAttention(o, "o", lse, q, k, v, spec);
        Check.Numel(dout, spec.QShape.Numel, "dout");
        if (!dq.IsNone) Check.Numel(dq, spec.QShape.Numel, "dq");
        if (!dk.IsNone) Check.Numel(dk, spec.KvShape.Numel, "dk");
        if (!dv.IsNone) Check.Numel(dv, spec.KvShape.Numel, "dv");
        if (dq.IsNone && dk.IsNone && dv.IsNone) return;
        nint delta = Scratch(Slot.AttentionDelta, spec.LseShape.Numel * sizeof(float));
        AttentionKernels.Backward(_k, Opt(dq, nameof(dq)), Opt(dk, nameof(dk)), Opt(dv, nameof(dv)), delta, F(dout, nameof(dout)),
                                  F(q, nameof(q)), F(k, nameof(k)), F(v, nameof(v)), F(o, nameof(o)), F(lse, nameof(lse)), spec);
    }

    private static void CheckAttention(Tensor o, string oName, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec)
    {
        Check.Positive(spec.B, "spec.B");
        Check.Positive(spec.Tq, "spec.Tq");
        Check.Positive(spec.Tk, "spec.Tk");
        Check.Positive(spec.Heads, "spec.Heads");
        Check.Positive(spec.HeadDim, "spec.HeadDim");
        if (spec.Causal && spec.Tq != spec.Tk)
            throw new ArgumentException($"causal attention needs Tq == Tk, got Tq {spec.Tq} and Tk {spec.Tk}");
        if (!float.IsFinite(spec.EffectiveScale)) throw new ArgumentException($"attention scale {spec.Scale} is not finite");
        if (spec.HeadDim > AttentionKernels.MaxHeadDim)
            throw new ArgumentException($"head dim {spec.HeadDim} exceeds the CUDA attention kernel's {AttentionKernels.MaxHeadDim}");
        Check.Numel(q, spec.QShape.Numel, "q");
        Check.Numel(k, spec.KvShape.Numel, "k");
        Check.Numel(v, spec.KvShape.Numel, "v");
        Check.Numel(o, spec.QShape.Numel, oName);
        Check.Numel(lse, spec.LseShape.Numel, "lse");
    }
}
