using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// GroupNorm (the UNet's and VAE's norm): one task per (n, group), so each task owns its statistics and
/// its slice of y / dx and the result cannot depend on the thread count. LayerNorm and BatchNorm live in
/// CpuOps.LayerNorm.cs and CpuOps.BatchNorm.cs.
/// </summary>
public sealed partial class CpuOps
{
    // Partial sums of the norm backwards (per (n, c) for GroupNorm, per row chunk for LayerNorm), grown once and
    // kept so the hot path allocates nothing. Shared by the ops of one CpuOps, which runs one op at a time.
    private double[] _normScratch = [];

    private double[] NormScratch(long length)
    {
        if (_normScratch.Length < length) _normScratch = new double[checked((int)length)];
        return _normScratch;
    }

    public void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps)
    {
        var (N, C, spatial) = OpChecks.GroupNormForward(y, mean, rstd, x, gamma, beta, groups);
        int channelsPerGroup = C / groups;
        int groupSize = channelsPerGroup * spatial;

        Parallel.For(0, N * groups, Workers, task =>
        {
            unsafe
            {
                int n = task / groups, g = task % groups;
                long offset = ((long)n * C + (long)g * channelsPerGroup) * spatial;
                float* xg = x.F32 + offset, yg = y.F32 + offset;

                double mu = NormKernels.Sum(xg, groupSize) / groupSize;
                double variance = NormKernels.SumSquaredDeviation(xg, groupSize, mu) / groupSize; // biased, as PyTorch
                double rs = 1.0 / Math.Sqrt(variance + eps);
                mean.F32[task] = (float)mu;
                rstd.F32[task] = (float)rs;

                // y = (x - mean)·rstd·gamma + beta = x·a + b per channel.
                for (int cg = 0; cg < channelsPerGroup; cg++)
                {
                    int c = g * channelsPerGroup + cg;
                    double a = rs * gamma.F32[c];
                    double b = beta.F32[c] - mu * a;
                    NormKernels.ScaleShift(yg + (long)cg * spatial, xg + (long)cg * spatial, (float)a, (float)b, spatial);
                }
            }
        });
    }

    public void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        var (N, C, spatial) = OpChecks.GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups);
        int channelsPerGroup = C / groups;
        int groupSize = channelsPerGroup * spatial;

        // Per (n, c): dyXhat = Σ dy·x̂ and dySum = Σ dy over the spatial positions. They give dx's group sums
        // and, summed over n in order afterwards, dgamma and dbeta (PyTorch's two-stage reduction, no races).
        double[] scratch = NormScratch(2L * N * C);
        Parallel.For(0, N * groups, Workers, task =>
        {
            unsafe
            {
                int n = task / groups, g = task % groups;
                long offset = ((long)n * C + (long)g * channelsPerGroup) * spatial;
                float* xg = x.F32 + offset, dyg = dy.F32 + offset;
                double mu = mean.F32[task], rs = rstd.F32[task];

                // With dx̂ = dy·gamma: Σ dx̂ and Σ dx̂·x̂ over the group.
                double sumDxhat = 0, sumDxhatXhat = 0;
                for (int cg = 0; cg < channelsPerGroup; cg++)
                {
                    int c = g * channelsPerGroup + cg;
                    double dyx = NormKernels.Dot(dyg + (long)cg * spatial, xg + (long)cg * spatial, spatial);
                    double dySum = NormKernels.Sum(dyg + (long)cg * spatial, spatial);
                    double dyXhat = (dyx - mu * dySum) * rs;
                    scratch[2 * (n * C + c)] = dyXhat;
                    scratch[2 * (n * C + c) + 1] = dySum;
                    sumDxhat += gamma.F32[c] * dySum;
                    sumDxhatXhat += gamma.F32[c] * dyXhat;
                }
                if (dx.IsNone) return;

                // dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)) = a·dy + b·x + c per channel.
                double b = -rs * rs * sumDxhatXhat / groupSize;
                double shift = -rs * sumDxhat / groupSize - b * mu;
                float* dxg = dx.F32 + offset;
                for (int cg = 0; cg < channelsPerGroup; cg++)
                {
                    double a = rs * gamma.F32[g * channelsPerGroup + cg];
                    long o = (long)cg * spatial;
                    NormKernels.Combine(dxg + o, dyg + o, (float)a, xg + o, (float)b, (float)shift, spatial);
                }
            }
        });
        if (!dgamma.IsNone || !dbeta.IsNone) AccumulateChannelSums(dgamma, dbeta, scratch, N, C);
    }

    /// <summary>dgamma[c] += Σ_n scratch[n, c, 0], dbeta[c] += Σ_n scratch[n, c, 1], n in order.</summary>
    private static unsafe void AccumulateChannelSums(Tensor dgamma, Tensor dbeta, double[] scratch, int n, int channels)
    {
        float* dg = dgamma.IsNone ? null : dgamma.F32;
        float* db = dbeta.IsNone ? null : dbeta.F32;
        for (int c = 0; c < channels; c++)
        {
            double sg = 0, sb = 0;
            for (int i = 0; i < n; i++)
            {
                sg += scratch[2 * (i * channels + c)];
                sb += scratch[2 * (i * channels + c) + 1];
            }
            if (dg != null) dg[c] += (float)sg;
            if (db != null) db[c] += (float)sb;
        }
    }
}
