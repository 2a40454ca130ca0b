using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>GroupNorm, LayerNorm and BatchNorm (kernels/norm.cu). The backwards' double scratch is the Norm slot.</summary>
public sealed partial class CudaOps
{
    public void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps)
    {
        var (N, C, spatial) = OpChecks.GroupNormForward(y, mean, rstd, x, gamma, beta, groups);
        NormKernels.GroupNormForward(_k, F(y, nameof(y)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(x, nameof(x)),
                                     F(gamma, nameof(gamma)), F(beta, nameof(beta)), N, C, spatial, groups, eps);
    }

    public void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var (N, C, spatial) = OpChecks.GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups);
        if (dx.IsNone && dgamma.IsNone && dbeta.IsNone) return;
        nint scratch = Scratch(Slot.Norm, NormKernels.GroupNormScratchCount(N, C) * sizeof(double));
        NormKernels.GroupNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), scratch,
                                      F(dy, nameof(dy)), F(x, nameof(x)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)),
                                      N, C, spatial, groups);
    }

    public void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        var (rows, C) = OpChecks.LayerNormForward(y, mean, rstd, x, gamma, beta);
        NormKernels.LayerNormForward(_k, F(y, nameof(y)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(x, nameof(x)),
                                     F(gamma, nameof(gamma)), F(beta, nameof(beta)), rows, C, eps);
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (rows, C) = OpChecks.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        nint scratch = dgamma.IsNone && dbeta.IsNone ? 0 : Scratch(Slot.Norm, NormKernels.LayerNormScratchCount(rows, C) * sizeof(double));
        NormKernels.LayerNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), scratch,
                                      F(dy, nameof(dy)), F(x, nameof(x)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)), rows, C);
    }

    public void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta,
                                 bool training, float momentum, float eps)
    {
        var (N, C, spatial) = OpChecks.BatchNormForward(y, mean, rstd, runningMean, runningVar, x, gamma, beta, training);
        NormKernels.BatchNormForward(_k, F(y, nameof(y)), Opt(mean, nameof(mean)), Opt(rstd, nameof(rstd)), Opt(runningMean, nameof(runningMean)),
                                     Opt(runningVar, nameof(runningVar)), F(x, nameof(x)), F(gamma, nameof(gamma)), F(beta, nameof(beta)),
                                     N, C, spatial, training, momentum, eps);
    }

    public void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (N, C, spatial) = OpChecks.BatchNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        if (dx.IsNone && dgamma.IsNone && dbeta.IsNone) return;
        NormKernels.BatchNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), F(dy, nameof(dy)), F(x, nameof(x)),
                                      F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)), N, C, spatial);
    }
}
