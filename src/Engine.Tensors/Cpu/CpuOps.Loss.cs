using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void MseForward(Tensor loss, Tensor x, Tensor target) => throw new NotImplementedException("Loss");

    public void MseBackward(Tensor dx, Tensor x, Tensor target, float dloss) => throw new NotImplementedException("Loss");

    public void BceWithLogitsForward(Tensor loss, Tensor logits, Tensor target) => throw new NotImplementedException("Loss");

    public void BceWithLogitsBackward(Tensor dlogits, Tensor logits, Tensor target, float dloss) => throw new NotImplementedException("Loss");
}
