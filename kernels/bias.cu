// Bias adds and their backwards (CpuOps.Bias.cs).
//   add_row_bias:      y [rows, C] += bias [C]                      (linear layers)
//   add_channel_bias:  y [N, C, inner] += b [N, C]                  (a per-sample, per-channel shift: the UNet's time embedding)
// The backwards reduce without atomics: one thread per bias element, rows in a fixed order.

#define BIAS_THREADS 256

extern "C" __global__ void add_row_bias(float* y, const float* bias, long long rows, int C)
{
    long long n = rows * C;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = y[i] + bias[i % C];
}

// dbias[c] += Σ_r dy[r, c], one thread per column summing the rows in order in double (the CPU twin's order,
// so the same bits). Neighbouring threads read neighbouring columns: the loads of a warp are coalesced.
extern "C" __global__ void add_row_bias_backward(float* dbias, const float* dy, long long rows, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x)
    {
        double acc = 0.0;
        for (long long r = 0; r < rows; r++) acc += (double)dy[r * C + c];
        dbias[c] += (float)acc;
    }
}

extern "C" __global__ void add_channel_bias(float* y, const float* b, long long nc, int inner)
{
    long long n = nc * inner;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = y[i] + b[i / inner];
}

// db[n, c] = Σ dy[n, c, :] (overwrites: db is an input gradient, not a parameter's). One block per (n, c):
// each thread sums a strided subset in double, the block adds them in a fixed tree. Launch with BIAS_THREADS.
extern "C" __global__ void add_channel_bias_backward(float* db, const float* dy, long long nc, int inner)
{
    __shared__ double scratch[BIAS_THREADS / 32];
    for (long long k = blockIdx.x; k < nc; k += gridDim.x)
    {
        double v = 0.0;
        for (int i = threadIdx.x; i < inner; i += blockDim.x) v += (double)dy[k * inner + i];
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (lane == 0) scratch[warp] = v;
        __syncthreads();
        if (warp == 0)
        {
            v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.0;
            for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
            if (lane == 0) db[k] = (float)v;
        }
        __syncthreads();
    }
}
