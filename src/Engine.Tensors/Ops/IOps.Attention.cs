using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// Multi-head attention geometry. q [B, Tq, Heads, HeadDim], k and v [B, Tk, Heads, HeadDim],
/// o [B, Tq, Heads, HeadDim]: the layout that to_q/to_k/to_v produce ([B, T, Heads·HeadDim]),
/// so no transpose is needed. Scale defaults to 1/sqrt(HeadDim). Causal masks key j > query i and requires
/// Tq == Tk (checked).
/// </summary>
public readonly record struct AttentionSpec(int B, int Tq, int Tk, int Heads, int HeadDim, bool Causal = false, float Scale = 0f)
{
    public float EffectiveScale => Scale != 0f ? Scale : 1f / MathF.Sqrt(HeadDim);

    public Shape QShape => new(B, Tq, Heads, HeadDim);

    public Shape KvShape => new(B, Tk, Heads, HeadDim);

    /// <summary>Log-sum-exp of each query row's scaled scores, [B, Heads, Tq].</summary>
    public Shape LseShape => new(B, Heads, Tq);
}

public partial interface IOps
{
    /// <summary>o = softmax(q·kᵀ·scale [+ causal mask]) · v; saves the rows' logsumexp for the backward.</summary>
    void AttentionForward(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec);

    /// <summary>
    /// Recomputes the probabilities from q, k and lse (P = exp(q·kᵀ·scale - lse)); dq, dk, dv overwritten.
    /// Any of dq, dk, dv may be None (not computed), e.g. dk/dv of a frozen text encoder's keys.
    /// </summary>
    void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec);
}
