// Mean losses (CpuOps.Loss.cs), forward beside backward.
//   MSE:              loss = mean((x − t)²)                           dx = 2(x − t)/n · dloss
//   BCE with logits:  loss = mean(max(z, 0) − z·t + log(1 + e^{−|z|}))   dz = (σ(z) − t)/n · dloss
// The forward is a deterministic two-stage mean, no atomics: loss_chunk_partials gives one double per chunk of
// LOSS_CHUNK elements (the CPU twin's Flat.ReduceChunk), each summed in a fixed tree; loss_combine adds the chunk
// partials in order and scales by 1/n. Launch loss_chunk_partials with LOSS_THREADS threads per block.

#define LOSS_THREADS 256
#define LOSS_CHUNK 8192

#define LOSS_MSE 0
#define LOSS_BCE_WITH_LOGITS 1

extern "C" __global__ void loss_chunk_partials(double* partial, const float* x, const float* target, long long n, int kind)
{
    __shared__ double scratch[LOSS_THREADS / 32];
    long long nchunks = (n + LOSS_CHUNK - 1) / LOSS_CHUNK;
    for (long long chunk = blockIdx.x; chunk < nchunks; chunk += gridDim.x)
    {
        long long begin = chunk * LOSS_CHUNK, end = begin + LOSS_CHUNK < n ? begin + LOSS_CHUNK : n;
        double v = 0.0;
        for (long long i = begin + threadIdx.x; i < end; i += blockDim.x)
        {
            double z = x[i], t = target[i];
            if (kind == LOSS_MSE) v += (z - t) * (z - t);
            else v += fmax(z, 0.0) - z * t + log(1.0 + exp(-fabs(z)));   // never exponentiates a positive number
        }
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (lane == 0) scratch[warp] = v;
        __syncthreads();
        if (warp == 0)
        {
            v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.0;
            for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
            if (lane == 0) partial[chunk] = v;
        }
        __syncthreads();
    }
}

// loss[0] = (Σ partials in chunk order) · scale, scale = 1/n. One thread.
extern "C" __global__ void loss_combine(float* loss, const double* partial, long long nchunks, double scale)
{
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double total = 0.0;
    for (long long k = 0; k < nchunks; k++) total += partial[k];
    loss[0] = (float)(total * scale);
}

// scale = 2·dloss/n, computed on the host in double and rounded once, as the CPU twin.
extern "C" __global__ void mse_backward(float* dx, const float* x, const float* target, float scale, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dx[i] = (x[i] - target[i]) * scale;
}

// σ(z) in the CPU twin's overflow-free form (the same float operations as CpuOps.Sigmoid).
static __device__ __forceinline__ float loss_sigmoid(float z)
{
    float e = expf(-fabsf(z));
    return z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

// scale = dloss/n.
extern "C" __global__ void bce_with_logits_backward(float* dz, const float* z, const float* target, float scale, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dz[i] = scale * (loss_sigmoid(z[i]) - target[i]);
}
