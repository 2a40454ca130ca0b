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
