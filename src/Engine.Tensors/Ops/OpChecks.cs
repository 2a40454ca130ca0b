using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// The argument checks of the ops whose shapes relate several tensors (conv, the norms), shared by every backend so
/// that a bad call fails with the same message on the CPU and on a GPU. Each returns the sizes the op loops over.
/// </summary>
public static class OpChecks
{
    public static void Conv2d(in Conv2dSpec s)
    {
        if (s.N < 1 || s.C < 1 || s.H < 1 || s.W < 1 || s.K < 1 || s.R < 1 || s.S < 1)
            throw new ArgumentException($"conv2d sizes must be positive: {s}");
        if (s.StrideH < 1 || s.StrideW < 1 || s.PadH < 0 || s.PadW < 0)
            throw new ArgumentException($"conv2d stride must be ≥ 1 and padding ≥ 0: {s}");
        if (s.H + 2 * s.PadH < s.R || s.W + 2 * s.PadW < s.S)
            throw new ArgumentException($"conv2d kernel {s.R}×{s.S} larger than the padded input: {s}");
    }

    public static void Conv2dForward(in Conv2dSpec s, Tensor y, Tensor x, Tensor weight, Tensor bias)
    {
        Conv2d(s);
        Check.Shape(x, s.XShape, "x");
        Check.Shape(weight, s.WeightShape, "weight");
        Check.Shape(y, s.YShape, "y");
        if (!bias.IsNone) Check.Shape(bias, new Shape(s.K), "bias");
    }

    /// <summary>dx needs weight, dweight needs x; a None gradient skips its check.</summary>
    public static void Conv2dBackward(in Conv2dSpec s, Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight)
    {
        Conv2d(s);
        Check.Shape(dy, s.YShape, "dy");
        if (!dx.IsNone)
        {
            Check.Shape(dx, s.XShape, "dx");
            Check.Shape(weight, s.WeightShape, "weight");
        }
        if (!dweight.IsNone)
        {
            Check.Shape(dweight, s.WeightShape, "dweight");
            Check.Shape(x, s.XShape, "x");
        }
        if (!dbias.IsNone) Check.Shape(dbias, new Shape(s.K), "dbias");
    }

    /// <summary>Sizes of x [N, C, *]: batch, channels and the product of the trailing (spatial) dims.</summary>
    public static (int N, int C, int Spatial) ChannelLayout(Tensor x, string name)
    {
        if (x.IsNone) throw new ArgumentException($"{name} is None");
        if (x.Rank < 2) throw new ArgumentException($"{name} has shape {x.Shape}, expected [N, C, *]");
        int n = x.Dim(0), c = x.Dim(1);
        Check.Positive(n, $"{name}.N");
        Check.Positive(c, $"{name}.C");
        long spatial = x.Numel / ((long)n * c);
        if (spatial <= 0 || spatial * c > int.MaxValue)
            throw new ArgumentException($"{name} has shape {x.Shape}: spatial size must be positive and C·spatial fit in an int");
        return (n, c, (int)spatial);
    }

    private static (int N, int C, int Spatial) GroupNorm(Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var (n, c, spatial) = ChannelLayout(x, "x");
        Check.Positive(groups, nameof(groups));
        if (c % groups != 0) throw new ArgumentException($"x has shape {x.Shape}: {c} channels do not split into {groups} groups");
        Check.Shape(mean, new Shape(n, groups), "mean");
        Check.Shape(rstd, new Shape(n, groups), "rstd");
        Check.Shape(gamma, new Shape(c), "gamma");
        return (n, c, spatial);
    }

    public static (int N, int C, int Spatial) GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups)
    {
        var sizes = GroupNorm(x, mean, rstd, gamma, groups);
        Check.Shape(y, x.Shape, "y");
        Check.Shape(beta, new Shape(sizes.C), "beta");
        return sizes;
    }

    public static (int N, int C, int Spatial) GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var sizes = GroupNorm(x, mean, rstd, gamma, groups);
        NormGradients(sizes.C, dx, dgamma, dbeta, dy, x);
        return sizes;
    }

    private static (int Rows, int C) LayerNorm(Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
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

    public static (int Rows, int C) LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta)
    {
        var sizes = LayerNorm(x, mean, rstd, gamma);
        Check.Shape(y, x.Shape, "y");
        Check.Shape(beta, new Shape(sizes.C), "beta");
        return sizes;
    }

    public static (int Rows, int C) LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var sizes = LayerNorm(x, mean, rstd, gamma);
        NormGradients(sizes.C, dx, dgamma, dbeta, dy, x);
        return sizes;
    }

    /// <summary>
    /// Training uses the batch statistics and writes mean and rstd (and the running stats when given); evaluation
    /// reads the running stats.
    /// </summary>
    public static (int N, int C, int Spatial) BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta, bool training)
    {
        var (n, c, spatial) = ChannelLayout(x, "x");
        Check.Shape(y, x.Shape, "y");
        Check.Shape(gamma, new Shape(c), "gamma");
        Check.Shape(beta, new Shape(c), "beta");
        if (training)
        {
            Check.Shape(mean, new Shape(c), "mean");
            Check.Shape(rstd, new Shape(c), "rstd");
            // PyTorch refuses too: the unbiased running variance would divide by zero.
            if ((long)n * spatial < 2) throw new ArgumentException($"x has shape {x.Shape}: training BatchNorm needs more than 1 value per channel");
            if (runningMean.IsNone != runningVar.IsNone) throw new ArgumentException("runningMean and runningVar must both be given or both be None");
        }
        else
        {
            if (!mean.IsNone) Check.Shape(mean, new Shape(c), "mean");
            if (!rstd.IsNone) Check.Shape(rstd, new Shape(c), "rstd");
        }
        if (!training || !runningMean.IsNone)
        {
            Check.Shape(runningMean, new Shape(c), "runningMean");
            Check.Shape(runningVar, new Shape(c), "runningVar");
        }
        return (n, c, spatial);
    }

    public static (int N, int C, int Spatial) BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (n, c, spatial) = ChannelLayout(x, "x");
        Check.Shape(mean, new Shape(c), "mean");
        Check.Shape(rstd, new Shape(c), "rstd");
        Check.Shape(gamma, new Shape(c), "gamma");
        NormGradients(c, dx, dgamma, dbeta, dy, x);
        return (n, c, spatial);
    }

    /// <summary>dy and dx have x's shape, dgamma and dbeta have C; a None gradient is not wanted.</summary>
    private static void NormGradients(int c, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x)
    {
        Check.Shape(dy, x.Shape, "dy");
        if (!dx.IsNone) Check.Shape(dx, x.Shape, "dx");
        if (!dgamma.IsNone) Check.Shape(dgamma, new Shape(c), "dgamma");
        if (!dbeta.IsNone) Check.Shape(dbeta, new Shape(c), "dbeta");
    }
}
