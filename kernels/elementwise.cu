// Element-wise f32 kernels: add, mul, scale, axpy, fill.
// Plain CUDA C compiled by NVRTC (no headers) and, for the CPU-only checks, by g++ through emu/cuda_emu.h.
// Every kernel is a grid-stride loop: any grid covers any n, so the launcher can cap the grid size.
// y may alias an input (each element is read before it is written, by the same thread).

extern "C" __global__ void add_f32(float* y, const float* a, const float* b, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = a[i] + b[i];
}

extern "C" __global__ void mul_f32(float* y, const float* a, const float* b, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = a[i] * b[i];
}

extern "C" __global__ void scale_f32(float* y, const float* x, float alpha, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = alpha * x[i];
}

// y += alpha·x, rounded twice (product, then sum) like CpuOps.Axpy (TensorPrimitives.MultiplyAdd, not fused).
// __fmul_rn/__fadd_rn are never contracted into an FMA by NVRTC (which contracts a*b+c by default), so the
// GPU, the emulator and the CPU give the same bits.
extern "C" __global__ void axpy_f32(float* y, float alpha, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = __fadd_rn(__fmul_rn(alpha, x[i]), y[i]);
}

extern "C" __global__ void fill_f32(float* y, float value, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = value;
}

// ---- embedding: y[i, :] = table[ids[i], :];  dtable[ids[i], :] += dy[i, :]
// ids are I32 and must lie in [0, vocab): the CPU twin checks that; the kernel trusts the caller.

extern "C" __global__ void embedding_forward(float* y, const int* ids, const float* table, long long n, int dim)
{
    long long total = n * dim;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = table[(long long)ids[i / dim] * dim + i % dim];
}

// Scatter-add without atomics, as CpuOps.EmbeddingBackward: one thread per table column walks the ids in order,
// so repeated ids add up in the same order on every run (and give the CPU's bits). dim threads in all: fine for
// token tables (dim 768) over a few hundred ids.
extern "C" __global__ void embedding_backward(float* dtable, const float* dy, const int* ids, long long n, int dim)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < dim; c += gridDim.x * blockDim.x)
        for (long long i = 0; i < n; i++)
        {
            float* cell = dtable + (long long)ids[i] * dim + c;
            *cell = *cell + dy[i * dim + c];
        }
}

// ---- nearest 2× upsample over planes = N·C planes of h×w: y[p, 2i + a, 2j + b] = x[p, i, j]

extern "C" __global__ void upsample2x_forward(float* y, const float* x, long long planes, int h, int w)
{
    long long total = planes * 4 * h * w;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += stride)
    {
        long long p = o / (4LL * h * w);
        int r = (int)(o % (4LL * h * w)), oi = r / (2 * w), oj = r % (2 * w);
        y[o] = x[p * h * w + (long long)(oi / 2) * w + oj / 2];
    }
}

// dx = the sum of its 2×2 block, added in the CPU twin's order: top-left, top-right, bottom-left, bottom-right.
extern "C" __global__ void upsample2x_backward(float* dx, const float* dy, long long planes, int h, int w)
{
    long long total = planes * h * w;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += stride)
    {
        long long p = o / ((long long)h * w);
        int r = (int)(o % ((long long)h * w)), i = r / w, j = r % w;
        const float* top = dy + p * 4 * h * w + (long long)(2 * i) * 2 * w;
        const float* bottom = top + 2 * w;
        dx[o] = top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1];
    }
}

// ---- channel concat / split: per sample, a's block of per_a elements then b's block of per_b elements

extern "C" __global__ void concat_channels(float* y, const float* a, const float* b, long long n, long long per_a, long long per_b)
{
    long long per = per_a + per_b, total = n * per;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += stride)
    {
        long long s = o / per, k = o % per;
        y[o] = k < per_a ? a[s * per_a + k] : b[s * per_b + k - per_a];
    }
}

// a or b may be null (Tensor.None): that part is skipped.
extern "C" __global__ void split_channels(float* a, float* b, const float* x, long long n, long long per_a, long long per_b)
{
    long long per = per_a + per_b, total = n * per;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += stride)
    {
        long long s = o / per, k = o % per;
        if (k < per_a) { if (a) a[s * per_a + k] = x[o]; }
        else if (b) b[s * per_b + k - per_a] = x[o];
    }
}
