using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void AttentionForward(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec) => throw new NotImplementedException("Attention");

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec) => throw new NotImplementedException("Attention");
}
