namespace Engine.Tests.Reference;

/// <summary>Scalar double-precision norms, written to read like the PyTorch docs.</summary>
public static class NormReference
{
    /// <summary>GroupNorm over x [n, c, spatial]; returns y, mean [n, groups], rstd [n, groups].</summary>
    public static (double[] Y, double[] Mean, double[] Rstd) GroupNorm(double[] x, double[] gamma, double[] beta, int n, int c, int spatial, int groups, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[n * groups];
        var rstd = new double[n * groups];
        int cpg = c / groups, size = cpg * spatial;
        for (int b = 0; b < n; b++)
            for (int g = 0; g < groups; g++)
            {
                int start = (b * c + g * cpg) * spatial;
                double mu = 0;
                for (int i = 0; i < size; i++) mu += x[start + i];
                mu /= size;
                double v = 0;
                for (int i = 0; i < size; i++) v += (x[start + i] - mu) * (x[start + i] - mu);
                v /= size;
                double rs = 1 / Math.Sqrt(v + eps);
                mean[b * groups + g] = mu;
                rstd[b * groups + g] = rs;
                for (int i = 0; i < size; i++)
                {
                    int ch = g * cpg + i / spatial;
                    y[start + i] = (x[start + i] - mu) * rs * gamma[ch] + beta[ch];
                }
            }
        return (y, mean, rstd);
    }

    /// <summary>LayerNorm over the last dim of x [rows, c]; returns y, mean [rows], rstd [rows].</summary>
    public static (double[] Y, double[] Mean, double[] Rstd) LayerNorm(double[] x, double[] gamma, double[] beta, int rows, int c, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0;
            for (int i = 0; i < c; i++) mu += x[r * c + i];
            mu /= c;
            double v = 0;
            for (int i = 0; i < c; i++) v += (x[r * c + i] - mu) * (x[r * c + i] - mu);
            v /= c;
            double rs = 1 / Math.Sqrt(v + eps);
            mean[r] = mu;
            rstd[r] = rs;
            for (int i = 0; i < c; i++) y[r * c + i] = (x[r * c + i] - mu) * rs * gamma[i] + beta[i];
        }
        return (y, mean, rstd);
    }

    /// <summary>
    /// BatchNorm2d over x [n, c, spatial]. Training: batch statistics (biased variance for y) and the running
    /// statistics updated with the unbiased variance; eval: the running statistics. Returns y, mean and rstd used,
    /// and the new running mean and variance.
    /// </summary>
    public static (double[] Y, double[] Mean, double[] Rstd, double[] RunningMean, double[] RunningVar) BatchNorm(
        double[] x, double[] gamma, double[] beta, double[] runningMean, double[] runningVar,
        int n, int c, int spatial, bool training, double momentum, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[c];
        var rstd = new double[c];
        var rm = (double[])runningMean.Clone();
        var rv = (double[])runningVar.Clone();
        int count = n * spatial;
        for (int ch = 0; ch < c; ch++)
        {
            double mu, v;
            if (training)
            {
                mu = 0;
                for (int b = 0; b < n; b++)
                    for (int s = 0; s < spatial; s++) mu += x[(b * c + ch) * spatial + s];
                mu /= count;
                double sq = 0;
                for (int b = 0; b < n; b++)
                    for (int s = 0; s < spatial; s++) sq += Math.Pow(x[(b * c + ch) * spatial + s] - mu, 2);
                v = sq / count;
                rm[ch] = (1 - momentum) * rm[ch] + momentum * mu;
                rv[ch] = (1 - momentum) * rv[ch] + momentum * sq / (count - 1);
            }
            else
            {
                mu = runningMean[ch];
                v = runningVar[ch];
            }
            double rs = 1 / Math.Sqrt(v + eps);
            mean[ch] = mu;
            rstd[ch] = rs;
            for (int b = 0; b < n; b++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * c + ch) * spatial + s;
                    y[i] = (x[i] - mu) * rs * gamma[ch] + beta[ch];
                }
        }
        return (y, mean, rstd, rm, rv);
    }
}
