using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// LayerNorm over the last dimension (the transformer blocks' norm). Rows are independent; the parameter
/// gradients are summed per fixed chunk of rows into scratch and the chunks are then added in order, so the
/// bits do not depend on the thread count.
/// </summary>
public sealed partial class CpuOps
{
    /// <summary>Rows per partial sum of dgamma/dbeta: fixed, never derived from Threads.</summary>
    private const int LayerNormRowsPerChunk = 32;

    public void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        var (rows, C) = OpChecks.LayerNormForward(y, mean, rstd, x, gamma, beta);
        int chunks = (rows + LayerNormRowsPerChunk - 1) / LayerNormRowsPerChunk;

        Parallel.For(0, chunks, Workers, chunk =>
        {
            unsafe
            {
                int end = Math.Min(rows, (chunk + 1) * LayerNormRowsPerChunk);
                float* g = gamma.F32, bt = beta.F32;
                for (int r = chunk * LayerNormRowsPerChunk; r < end; r++)
                {
                    float* xr = x.F32 + (long)r * C, yr = y.F32 + (long)r * C;
                    double mu = NormKernels.Sum(xr, C) / C;
                    double rs = 1.0 / Math.Sqrt(NormKernels.SumSquaredDeviation(xr, C, mu) / C + eps);
                    mean.F32[r] = (float)mu;
                    rstd.F32[r] = (float)rs;
                    float m = (float)mu, s = (float)rs;
                    for (int i = 0; i < C; i++) yr[i] = (xr[i] - m) * s * g[i] + bt[i];
                }
            }
        });
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        var (rows, C) = OpChecks.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        bool wantParams = !dgamma.IsNone || !dbeta.IsNone;
        int chunks = (rows + LayerNormRowsPerChunk - 1) / LayerNormRowsPerChunk;
        // Per chunk: C partial sums of dy·x̂ (dgamma), then C of dy (dbeta).
        double[] partials = wantParams ? NormScratch(2L * chunks * C) : [];

        Parallel.For(0, chunks, Workers, chunk =>
        {
            unsafe
            {
                int end = Math.Min(rows, (chunk + 1) * LayerNormRowsPerChunk);
                float* g = gamma.F32;
                Span<double> pg = wantParams ? partials.AsSpan(2 * chunk * C, C) : default;
                Span<double> pb = wantParams ? partials.AsSpan(2 * chunk * C + C, C) : default;
                pg.Clear();
                pb.Clear();
                for (int r = chunk * LayerNormRowsPerChunk; r < end; r++)
                {
                    float* xr = x.F32 + (long)r * C, dyr = dy.F32 + (long)r * C;
                    double mu = mean.F32[r], rs = rstd.F32[r];

                    // With dx̂ = dy·gamma: the row means of dx̂ and dx̂·x̂.
                    double sumDxhat = 0, sumDxhatXhat = 0;
                    for (int i = 0; i < C; i++)
                    {
                        double xhat = (xr[i] - mu) * rs;
                        double dxhat = (double)dyr[i] * g[i];
                        sumDxhat += dxhat;
                        sumDxhatXhat += dxhat * xhat;
                        if (wantParams)
                        {
                            pg[i] += dyr[i] * xhat;
                            pb[i] += dyr[i];
                        }
                    }
                    if (dx.IsNone) continue;

                    // dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
                    double meanDxhat = sumDxhat / C, meanDxhatXhat = sumDxhatXhat / C;
                    float* dxr = dx.F32 + (long)r * C;
                    for (int i = 0; i < C; i++)
                    {
                        double xhat = (xr[i] - mu) * rs;
                        dxr[i] = (float)(rs * ((double)dyr[i] * g[i] - meanDxhat - xhat * meanDxhatXhat));
                    }
                }
            }
        });
        if (!wantParams) return;

        // Chunks in order, channels in parallel: each channel's sum has one fixed order.
        Parallel.For(0, (C + 63) / 64, Workers, block =>
        {
            unsafe
            {
                int end = Math.Min(C, (block + 1) * 64);
                for (int c = block * 64; c < end; c++)
                {
                    double sg = 0, sb = 0;
                    for (int k = 0; k < chunks; k++)
                    {
                        sg += partials[2 * k * C + c];
                        sb += partials[2 * k * C + C + c];
                    }
                    if (!dgamma.IsNone) dgamma.F32[c] += (float)sg;
                    if (!dbeta.IsNone) dbeta.F32[c] += (float)sb;
                }
            }
        });
    }
}
