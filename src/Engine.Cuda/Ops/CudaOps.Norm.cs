using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>GroupNorm, LayerNorm and BatchNorm (kernels/norm.cu). The backwards' double scratch is the Norm slot.</summary>
public sealed partial class CudaOps
{
    public void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps)
    {
        var (N, C, spatial) = GroupNormLayout(x, mean, rstd, gamma, groups);
        Check.Shape(y, x.Shape, "y");
        Check.Shape(beta, new Shape(C), "beta");
        NormKernels.GroupNormForward(_k, F(y, nameof(y)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(x, nameof(x)),
                                     F(gamma, nameof(gamma)), F(beta, nameof(beta)), N, C, spatial, groups, eps);
    }

    public void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var (N, C, spatial) = GroupNormLayout(x, mean, rstd, gamma, groups);
        Check.Shape(dy, x.Shape, "dy");
        if (!dx.IsNone) Check.Shape(dx, x.Shape, "dx");
        if (!dgamma.IsNone) Check.Shape(dgamma, new Shape(C), "dgamma");
        if (!dbeta.IsNone) Check.Shape(dbeta, new Shape(C), "dbeta");
        if (dx.IsNone && dgamma.IsNone && dbeta.IsNone) return;
        nint scratch = Scratch(Slot.Norm, NormKernels.GroupNormScratchCount(N, C) * sizeof(double));
        NormKernels.GroupNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), scratch,
                                      F(dy, nameof(dy)), F(x, nameof(x)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)),
                                      N, C, spatial, groups);
    }

    public void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        var (rows, C) = LayerNormLayout(x, mean, rstd, gamma);
        Check.Shape(y, x.Shape, "y");
        Check.Shape(beta, new Shape(C), "beta");
        NormKernels.LayerNormForward(_k, F(y, nameof(y)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(x, nameof(x)),
                                     F(gamma, nameof(gamma)), F(beta, nameof(beta)), rows, C, eps);
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (rows, C) = LayerNormLayout(x, mean, rstd, gamma);
        Check.Shape(dy, x.Shape, "dy");
        if (!dx.IsNone) Check.Shape(dx, x.Shape, "dx");
        if (!dgamma.IsNone) Check.Shape(dgamma, new Shape(C), "dgamma");
        if (!dbeta.IsNone) Check.Shape(dbeta, new Shape(C), "dbeta");
        nint scratch = dgamma.IsNone && dbeta.IsNone ? 0 : Scratch(Slot.Norm, NormKernels.LayerNormScratchCount(rows, C) * sizeof(double));
        NormKernels.LayerNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), scratch,
                                      F(dy, nameof(dy)), F(x, nameof(x)), F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)), rows, C);
    }

    public void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta,
                                 bool training, float momentum, float eps)
    {
        var (N, C, spatial) = ChannelLayout(x, "x");
        Check.Shape(y, x.Shape, "y");
        Check.Shape(gamma, new Shape(C), "gamma");
        Check.Shape(beta, new Shape(C), "beta");
        if (training)
        {
            Check.Shape(mean, new Shape(C), "mean");
            Check.Shape(rstd, new Shape(C), "rstd");
            if ((long)N * spatial < 2) throw new ArgumentException($"x has shape {x.Shape}: training BatchNorm needs more than 1 value per channel");
            if (runningMean.IsNone != runningVar.IsNone) throw new ArgumentException("runningMean and runningVar must both be given or both be None");
        }
        else
        {
            if (!mean.IsNone) Check.Shape(mean, new Shape(C), "mean");
            if (!rstd.IsNone) Check.Shape(rstd, new Shape(C), "rstd");
            Check.Shape(runningMean, new Shape(C), "runningMean");
            Check.Shape(runningVar, new Shape(C), "runningVar");
        }
        if (!runningMean.IsNone)
        {
            Check.Shape(runningMean, new Shape(C), "runningMean");
            Check.Shape(runningVar, new Shape(C), "runningVar");
        }
        NormKernels.BatchNormForward(_k, F(y, nameof(y)), Opt(mean, nameof(mean)), Opt(rstd, nameof(rstd)), Opt(runningMean, nameof(runningMean)),
                                     Opt(runningVar, nameof(runningVar)), F(x, nameof(x)), F(gamma, nameof(gamma)), F(beta, nameof(beta)),
                                     N, C, spatial, training, momentum, eps);
    }

    public void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (N, C, spatial) = ChannelLayout(x, "x");
        Check.Shape(dy, x.Shape, "dy");
        Check.Shape(mean, new Shape(C), "mean");
        Check.Shape(rstd, new Shape(C), "rstd");
        Check.Shape(gamma, new Shape(C), "gamma");
        if (!dx.IsNone) Check.Shape(dx, x.Shape, "dx");
        if (!dgamma.IsNone) Check.Shape(dgamma, new Shape(C), "dgamma");
        if (!dbeta.IsNone) Check.Shape(dbeta, new Shape(C), "dbeta");
        if (dx.IsNone && dgamma.IsNone && dbeta.IsNone) return;
        NormKernels.BatchNormBackward(_k, Opt(dx, nameof(dx)), Opt(dgamma, nameof(dgamma)), Opt(dbeta, nameof(dbeta)), F(dy, nameof(dy)), F(x, nameof(x)),
                                      F(mean, nameof(mean)), F(rstd, nameof(rstd)), F(gamma, nameof(gamma)), N, C, spatial);
    }

    private static (int N, int C, int Spatial) GroupNormLayout(Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var (n, c, spatial) = ChannelLayout(x, "x");
        Check.Positive(groups, nameof(groups));
        if (c % groups != 0) throw new ArgumentException($"x has shape {x.Shape}: {c} channels do not split into {groups} groups");
        Check.Shape(mean, new Shape(n, groups), "mean");
        Check.Shape(rstd, new Shape(n, groups), "rstd");
        Check.Shape(gamma, new Shape(c), "gamma");
        return (n, c, spatial);
    }

    private static (int Rows, int C) LayerNormLayout(Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        if (x.IsNone || x.Rank < 1) throw new ArgumentException($"x has shape {x.Shape}, expected [rows, C]");
        int c = x.Dim(-1);
        Check.Positive(c, "x.C");
        long rows = x.Numel / c;
        if (rows <= 0 || rows > int.MaxValue) throw new ArgumentException($"x has shape {x.Shape}: no rows or too many rows");
        Check.Numel(mean, rows, "mean");
        Check.Numel(rstd, rows, "rstd");
        Check.Shape(gamma, new Shape(c), "gamma");
        return ((int)rows, c);
    }

    /// <summary>Sizes of x [N, C, *]: batch, channels and the product of the trailing (spatial) dims.</summary>
    private static (int N, int C, int Spatial) ChannelLayout(Tensor x, string name)
    {
        if (x.IsNone) throw new ArgumentException($"{name} is None");
        if (x.Rank < 2) throw new ArgumentException($"{name} has shape {x.Shape}, expected [N, C, *]");
        int n = x.Dim(0), c = x.Dim(1);
        Check.Positive(n, $"{name}.N");
        Check.Positive(c, $"{name}.C");
        long spatial = x.Numel / ((long)n * c);
        if (spatial <= 0 || (long)c * spatial > int.MaxValue)
            throw new ArgumentException($"{name} has shape {x.Shape}: spatial size must be positive and C·spatial fit in an int");
        return (n, c, (int)spatial);
    }
}
