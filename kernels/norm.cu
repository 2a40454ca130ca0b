// LayerNorm (over the last dimension) and GroupNorm (over channel groups of [N, C, spatial]), forward beside
// backward, the same formulas as their CPU twins (CpuOps.LayerNorm.cs, CpuOps.Norm.cs):
//   x̂ = (x − mean)·rstd,  rstd = 1/√(var + eps) (biased variance, two passes),  y = x̂·gamma + beta
//   dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  dx̂ = dy·gamma;  dgamma += Σ dy·x̂,  dbeta += Σ dy
// Statistics and row/group sums are in double, each block adding its threads in a fixed tree. The parameter
// gradients are two-stage (partials per fixed chunk of rows or per sample, then one thread per channel adding
// them in order): no atomics, the same bits on every run. Launch every kernel here with NORM_THREADS threads.

#define NORM_THREADS 256
#define LAYERNORM_ROWS_PER_CHUNK 32

// Σ v over the block in a fixed tree (warp shuffles, then one warp over the warp sums), returned to every
// thread. scratch holds NORM_THREADS/32 + 1 doubles; ends with a barrier so scratch may be reused at once.
static __device__ double norm_block_sum(double v, double* scratch)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.0;
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
        if (lane == 0) scratch[NORM_THREADS / 32] = v;
    }
    __syncthreads();
    v = scratch[NORM_THREADS / 32];
    __syncthreads();
    return v;
}

// ---- LayerNorm: x [rows, C]; mean, rstd [rows]; gamma, beta [C]. One block per row.

extern "C" __global__ void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                                             const float* beta, int rows, int C, float eps)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* xr = x + (long long)r * C;
        double s = 0.0;
        for (int i = threadIdx.x; i < C; i += blockDim.x) s += (double)xr[i];
        double mu = norm_block_sum(s, scratch) / C;
        double ss = 0.0;
        for (int i = threadIdx.x; i < C; i += blockDim.x) { double d = xr[i] - mu; ss += d * d; }
        double rs = 1.0 / sqrt(norm_block_sum(ss, scratch) / C + (double)eps);
        if (threadIdx.x == 0) { mean[r] = (float)mu; rstd[r] = (float)rs; }
        float m = (float)mu, sc = (float)rs;
        float* yr = y + (long long)r * C;
        for (int i = threadIdx.x; i < C; i += blockDim.x) yr[i] = (xr[i] - m) * sc * gamma[i] + beta[i];
    }
}

// dx for one row per block (skip the launch when dx is not needed).
extern "C" __global__ void layernorm_backward_dx(float* dx, const float* dy, const float* x, const float* mean,
                                                 const float* rstd, const float* gamma, int rows, int C)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* xr = x + (long long)r * C;
        const float* dyr = dy + (long long)r * C;
        double mu = mean[r], rs = rstd[r];
        double sumDxhat = 0.0, sumDxhatXhat = 0.0;
        for (int i = threadIdx.x; i < C; i += blockDim.x)
        {
            double xhat = (xr[i] - mu) * rs;
            double dxhat = (double)dyr[i] * gamma[i];
            sumDxhat += dxhat;
            sumDxhatXhat += dxhat * xhat;
        }
        double meanDxhat = norm_block_sum(sumDxhat, scratch) / C;
        double meanDxhatXhat = norm_block_sum(sumDxhatXhat, scratch) / C;
        float* dxr = dx + (long long)r * C;
        for (int i = threadIdx.x; i < C; i += blockDim.x)
        {
            double xhat = (xr[i] - mu) * rs;
            dxr[i] = (float)(rs * ((double)dyr[i] * gamma[i] - meanDxhat - xhat * meanDxhatXhat));
        }
    }
}

// Stage 1 of dgamma/dbeta: partial [chunks, 2, C] (Σ dy·x̂, then Σ dy) over each chunk of
// LAYERNORM_ROWS_PER_CHUNK rows, rows in order. Grid (ceil(C/NORM_THREADS), chunks); one thread per channel.
extern "C" __global__ void layernorm_backward_param_partials(double* partial, const float* dy, const float* x,
                                                             const float* mean, const float* rstd, int rows, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
    if (c >= C) return;
    int end = (chunk + 1) * LAYERNORM_ROWS_PER_CHUNK < rows ? (chunk + 1) * LAYERNORM_ROWS_PER_CHUNK : rows;
    double pg = 0.0, pb = 0.0;
    for (int r = chunk * LAYERNORM_ROWS_PER_CHUNK; r < end; r++)
    {
        double mu = mean[r], rs = rstd[r];
        float d = dy[(long long)r * C + c];
        pg += d * ((x[(long long)r * C + c] - mu) * rs);
        pb += d;
    }
    partial[(2LL * chunk) * C + c] = pg;
    partial[(2LL * chunk + 1) * C + c] = pb;
}

// Stage 2: dgamma[c] += Σ_chunks, dbeta[c] += Σ_chunks, chunks in order. Either may be null.
extern "C" __global__ void layernorm_backward_param_combine(float* dgamma, float* dbeta, const double* partial, int chunks, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x)
    {
        double sg = 0.0, sb = 0.0;
        for (int k = 0; k < chunks; k++)
        {
            sg += partial[(2LL * k) * C + c];
            sb += partial[(2LL * k + 1) * C + c];
        }
        if (dgamma) dgamma[c] += (float)sg;
        if (dbeta) dbeta[c] += (float)sb;
    }
}

// ---- GroupNorm: x [N, C, spatial]; mean, rstd [N, groups]; gamma, beta [C]. One block per (n, group).

extern "C" __global__ void groupnorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                                             const float* beta, int N, int C, int spatial, int groups, float eps)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    int cpg = C / groups, groupSize = cpg * spatial;
    for (int task = blockIdx.x; task < N * groups; task += gridDim.x)
    {
        int n = task / groups, g = task % groups;
        long long offset = ((long long)n * C + (long long)g * cpg) * spatial;
        const float* xg = x + offset;
        double s = 0.0;
        for (int i = threadIdx.x; i < groupSize; i += blockDim.x) s += (double)xg[i];
        double mu = norm_block_sum(s, scratch) / groupSize;
        double ss = 0.0;
        for (int i = threadIdx.x; i < groupSize; i += blockDim.x) { double d = xg[i] - mu; ss += d * d; }
        double rs = 1.0 / sqrt(norm_block_sum(ss, scratch) / groupSize + (double)eps);
        if (threadIdx.x == 0) { mean[task] = (float)mu; rstd[task] = (float)rs; }
        // y = x·a + b per channel, a = rstd·gamma, b = beta − mean·a: one rounding (fmaf), as the CPU twin.
        for (int i = threadIdx.x; i < groupSize; i += blockDim.x)
        {
            int c = g * cpg + i / spatial;
            double a = rs * gamma[c];
            double b = beta[c] - mu * a;
            y[offset + i] = fmaf(xg[i], (float)a, (float)b);
        }
    }
}

// Stage 1 of the backward: per (n, c), sums [N, C, 2] = (Σ dy·x̂, Σ dy) over the spatial positions, where
// Σ dy·x̂ = (Σ dy·x − mean·Σ dy)·rstd. One block per (n, c).
extern "C" __global__ void groupnorm_backward_channel_sums(double* sums, const float* dy, const float* x, const float* mean,
                                                           const float* rstd, int N, int C, int spatial, int groups)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    int cpg = C / groups;
    for (int nc = blockIdx.x; nc < N * C; nc += gridDim.x)
    {
        int n = nc / C, g = nc % C / cpg;
        const float* dyc = dy + (long long)nc * spatial;
        const float* xc = x + (long long)nc * spatial;
        double dyx = 0.0, dysum = 0.0;
        for (int i = threadIdx.x; i < spatial; i += blockDim.x)
        {
            dyx += (double)dyc[i] * xc[i];
            dysum += (double)dyc[i];
        }
        dyx = norm_block_sum(dyx, scratch);
        dysum = norm_block_sum(dysum, scratch);
        if (threadIdx.x == 0)
        {
            double mu = mean[n * groups + g], rs = rstd[n * groups + g];
            sums[2LL * nc] = (dyx - mu * dysum) * rs;
            sums[2LL * nc + 1] = dysum;
        }
    }
}

// Stage 2: dx per (n, group) from the channel sums, dx = a·dy + b·x + shift per channel (two roundings in
// fmaf, as the CPU twin). Each thread adds the group's channel sums itself, in channel order.
extern "C" __global__ void groupnorm_backward_dx(float* dx, const float* dy, const float* x, const float* mean, const float* rstd,
                                                 const float* gamma, const double* sums, int N, int C, int spatial, int groups)
{
    int cpg = C / groups, groupSize = cpg * spatial;
    for (int task = blockIdx.x; task < N * groups; task += gridDim.x)
    {
        int n = task / groups, g = task % groups;
        double mu = mean[task], rs = rstd[task];
        double sumDxhat = 0.0, sumDxhatXhat = 0.0;
        for (int cg = 0; cg < cpg; cg++)
        {
            int c = g * cpg + cg;
            sumDxhat += gamma[c] * sums[2LL * (n * C + c) + 1];
            sumDxhatXhat += gamma[c] * sums[2LL * (n * C + c)];
        }
        double b = -rs * rs * sumDxhatXhat / groupSize;
        double shift = -rs * sumDxhat / groupSize - b * mu;
        long long offset = ((long long)n * C + (long long)g * cpg) * spatial;
        for (int i = threadIdx.x; i < groupSize; i += blockDim.x)
        {
            double a = rs * gamma[g * cpg + i / spatial];
            dx[offset + i] = fmaf(dy[offset + i], (float)a, fmaf(x[offset + i], (float)b, (float)shift));
        }
    }
}

// Stage 3: dgamma[c] += Σ_n sums[n, c, 0], dbeta[c] += Σ_n sums[n, c, 1], n in order. Either may be null.
extern "C" __global__ void groupnorm_backward_params(float* dgamma, float* dbeta, const double* sums, int N, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x)
    {
        double sg = 0.0, sb = 0.0;
        for (int n = 0; n < N; n++)
        {
            sg += sums[2LL * (n * C + c)];
            sb += sums[2LL * (n * C + c) + 1];
        }
        if (dgamma) dgamma[c] += (float)sg;
        if (dbeta) dbeta[c] += (float)sb;
    }
}

// ---- BatchNorm2d: x [N, C, spatial]; statistics per channel over N and spatial. One block per channel.
// training: normalize with the batch's (biased) statistics, write mean/rstd (if not null) and update the running
// statistics (if not null; PyTorch: running = (1 − momentum)·running + momentum·batch, with the UNBIASED
// variance). Evaluation: normalize with the running statistics.

extern "C" __global__ void batchnorm_forward(float* y, float* mean, float* rstd, float* running_mean, float* running_var,
                                             const float* x, const float* gamma, const float* beta, int N, int C, int spatial,
                                             int training, float momentum, float eps)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    long long count = (long long)N * spatial;
    for (int c = blockIdx.x; c < C; c += gridDim.x)
    {
        double mu, rs;
        if (training)
        {
            double s = 0.0;
            for (long long i = threadIdx.x; i < count; i += blockDim.x)
                s += (double)x[((long long)(i / spatial) * C + c) * spatial + i % spatial];
            mu = norm_block_sum(s, scratch) / count;
            double ss = 0.0;
            for (long long i = threadIdx.x; i < count; i += blockDim.x)
            {
                double d = x[((long long)(i / spatial) * C + c) * spatial + i % spatial] - mu;
                ss += d * d;
            }
            double squares = norm_block_sum(ss, scratch);
            rs = 1.0 / sqrt(squares / count + (double)eps);
            if (running_mean && threadIdx.x == 0)
            {
                running_mean[c] = (float)((1.0 - (double)momentum) * running_mean[c] + (double)momentum * mu);
                running_var[c] = (float)((1.0 - (double)momentum) * running_var[c] + (double)momentum * (squares / (count - 1)));
            }
        }
        else
        {
            mu = running_mean[c];
            rs = 1.0 / sqrt(running_var[c] + (double)eps);
        }
        if (threadIdx.x == 0)
        {
            if (mean) mean[c] = (float)mu;
            if (rstd) rstd[c] = (float)rs;
        }
        double a = rs * gamma[c];
        double b = beta[c] - mu * a;
        for (long long i = threadIdx.x; i < count; i += blockDim.x)
        {
            long long o = ((long long)(i / spatial) * C + c) * spatial + i % spatial;
            y[o] = fmaf(x[o], (float)a, (float)b);
        }
    }
}

// Backward of training-mode BatchNorm: dx overwritten (null = skip), dgamma/dbeta accumulated (null = skip).
// dx = gamma·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·x + shift per channel.
extern "C" __global__ void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                              const float* mean, const float* rstd, const float* gamma, int N, int C, int spatial)
{
    __shared__ double scratch[NORM_THREADS / 32 + 1];
    long long count = (long long)N * spatial;
    for (int c = blockIdx.x; c < C; c += gridDim.x)
    {
        double mu = mean[c], rs = rstd[c];
        double dysum = 0.0, dyx = 0.0;
        for (long long i = threadIdx.x; i < count; i += blockDim.x)
        {
            long long o = ((long long)(i / spatial) * C + c) * spatial + i % spatial;
            dysum += (double)dy[o];
            dyx += (double)dy[o] * x[o];
        }
        dysum = norm_block_sum(dysum, scratch);
        dyx = norm_block_sum(dyx, scratch);
        double dyXhat = (dyx - mu * dysum) * rs;
        if (threadIdx.x == 0)
        {
            if (dgamma) dgamma[c] += (float)dyXhat;
            if (dbeta) dbeta[c] += (float)dysum;
        }
        if (!dx) continue;
        double a = gamma[c] * rs;
        double b = -a * rs * dyXhat / count;
        double shift = -a * dysum / count - b * mu;
        for (long long i = threadIdx.x; i < count; i += blockDim.x)
        {
            long long o = ((long long)(i / spatial) * C + c) * spatial + i % spatial;
            dx[o] = fmaf(dy[o], (float)a, fmaf(x[o], (float)b, (float)shift));
        }
    }
}
