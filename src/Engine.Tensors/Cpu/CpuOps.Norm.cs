using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps) => throw new NotImplementedException("Norm");

    public void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups) => throw new NotImplementedException("Norm");

    public void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps) => throw new NotImplementedException("Norm");

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma) => throw new NotImplementedException("Norm");

    public void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta, bool training, float momentum, float eps) => throw new NotImplementedException("Norm");

    public void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma) => throw new NotImplementedException("Norm");
}
