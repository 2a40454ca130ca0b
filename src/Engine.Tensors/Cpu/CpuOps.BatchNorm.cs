using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// BatchNorm2d (the DoCo discriminator's norm): one task per channel that walks the batch in order, so the
/// statistics, the running-stat update and dgamma/dbeta each have one summation order whatever the thread count.
/// </summary>
public sealed partial class CpuOps
{
    public void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta, bool training, float momentum, float eps)
    {
        var (N, C, spatial) = OpChecks.BatchNormForward(y, mean, rstd, runningMean, runningVar, x, gamma, beta, training);
        long count = (long)N * spatial;

        Parallel.For(0, C, Workers, c =>
        {
            unsafe
            {
                long channelStride = (long)C * spatial;
                float* x0 = x.F32 + (long)c * spatial, y0 = y.F32 + (long)c * spatial;
                double mu, rs;
                if (training)
                {
                    double sum = 0;
                    for (int n = 0; n < N; n++) sum += NormKernels.Sum(x0 + n * channelStride, spatial);
                    mu = sum / count;
                    double squares = 0;
                    for (int n = 0; n < N; n++) squares += NormKernels.SumSquaredDeviation(x0 + n * channelStride, spatial, mu);
                    double variance = squares / count; // biased: what the batch is normalized with
                    rs = 1.0 / Math.Sqrt(variance + eps);
                    if (!runningMean.IsNone)
                    {
                        // PyTorch: running = (1 - momentum)·running + momentum·batch, with the UNBIASED variance.
                        double unbiased = squares / (count - 1);
                        runningMean.F32[c] = (float)((1 - (double)momentum) * runningMean.F32[c] + momentum * mu);
                        runningVar.F32[c] = (float)((1 - (double)momentum) * runningVar.F32[c] + momentum * unbiased);
                    }
                }
                else
                {
                    mu = runningMean.F32[c];
                    rs = 1.0 / Math.Sqrt(runningVar.F32[c] + (double)eps);
                }
                if (!mean.IsNone) mean.F32[c] = (float)mu;
                if (!rstd.IsNone) rstd.F32[c] = (float)rs;

                double a = rs * gamma.F32[c];
                double b = beta.F32[c] - mu * a;
                for (int n = 0; n < N; n++)
                    NormKernels.ScaleShift(y0 + n * channelStride, x0 + n * channelStride, (float)a, (float)b, spatial);
            }
        });
    }

    public void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (N, C, spatial) = OpChecks.BatchNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        long count = (long)N * spatial;

        Parallel.For(0, C, Workers, c =>
        {
            unsafe
            {
                long channelStride = (long)C * spatial;
                float* x0 = x.F32 + (long)c * spatial, dy0 = dy.F32 + (long)c * spatial;
                double mu = mean.F32[c], rs = rstd.F32[c];
                double dySum = 0, dyx = 0;
                for (int n = 0; n < N; n++)
                {
                    dySum += NormKernels.Sum(dy0 + n * channelStride, spatial);
                    dyx += NormKernels.Dot(dy0 + n * channelStride, x0 + n * channelStride, spatial);
                }
                double dyXhat = (dyx - mu * dySum) * rs;
                if (!dgamma.IsNone) dgamma.F32[c] += (float)dyXhat;
                if (!dbeta.IsNone) dbeta.F32[c] += (float)dySum;
                if (dx.IsNone) return;

                // dx = gamma·rstd·(dy - mean(dy) - x̂·mean(dy·x̂)) = a·dy + b·x + shift.
                double a = gamma.F32[c] * rs;
                double b = -a * rs * dyXhat / count;
                double shift = -a * dySum / count - b * mu;
                float* dx0 = dx.F32 + (long)c * spatial;
                for (int n = 0; n < N; n++)
                {
                    long o = n * channelStride;
                    NormKernels.Combine(dx0 + o, dy0 + o, (float)a, x0 + o, (float)b, (float)shift, spatial);
                }
            }
        });
    }
}
