// Activations, forward and backward side by side (f32, element-wise, grid-stride loops).
// Backward overwrites dx (IOps convention). Formulas follow PyTorch:
//   silu(x)       = x·σ(x)                      d/dx = σ(x)·(1 + x·(1 − σ(x)))
//   gelu(x)       = ½x(1 + erf(x/√2)) (exact)    d/dx = Φ(x) + x·φ(x)
//   quick_gelu(x) = x·σ(1.702x) (CLIP)           d/dx = σ(1.702x) + 1.702x·σ(1.702x)(1 − σ(1.702x))
//   geglu: x [rows, 2C] = (hidden | gate), y [rows, C] = hidden·gelu(gate)   (diffusers GEGLU)
//   leaky_relu(x) = x if x > 0 else slope·x      d/dx = 1 if x > 0 else slope   (torch: the slope at 0)
//   clamp(x) = min(max(x, lo), hi)               d/dx = 1 if lo ≤ x ≤ hi else 0  (torch: the bounds pass it)

// σ(x) without overflow: e^{-|x|} ≤ 1. The same float operations as CpuOps.Sigmoid, so the two agree bitwise
// wherever expf does (the emulator: both call the host libm).
static __device__ __forceinline__ float sigmoid_f32(float x)
{
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

// Φ(x), the standard normal CDF, and φ(x), its density.
static __device__ __forceinline__ float normal_cdf(float x) { return 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }
static __device__ __forceinline__ float normal_pdf(float x) { return 0.39894228040143268f * expf(-0.5f * x * x); }

extern "C" __global__ void silu_forward(float* y, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = x[i] * sigmoid_f32(x[i]);
}

extern "C" __global__ void silu_backward(float* dx, const float* dy, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        float s = sigmoid_f32(x[i]);
        dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
    }
}

extern "C" __global__ void gelu_forward(float* y, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = x[i] * normal_cdf(x[i]);
}

extern "C" __global__ void gelu_backward(float* dx, const float* dy, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dx[i] = dy[i] * (normal_cdf(x[i]) + x[i] * normal_pdf(x[i]));
}

extern "C" __global__ void quick_gelu_forward(float* y, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = x[i] * sigmoid_f32(1.702f * x[i]);
}

extern "C" __global__ void quick_gelu_backward(float* dx, const float* dy, const float* x, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        float s = sigmoid_f32(1.702f * x[i]);
        dx[i] = dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
    }
}

// One thread per output element (row r, column c); hidden = x[r, c], gate = x[r, C + c].
extern "C" __global__ void geglu_forward(float* y, const float* x, long long rows, int C)
{
    long long n = rows * C;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        long long r = i / C, c = i % C;
        float hidden = x[r * 2 * C + c], gate = x[r * 2 * C + C + c];
        y[i] = hidden * (gate * normal_cdf(gate));
    }
}

// dx [rows, 2C]: d hidden = dy·gelu(gate), d gate = dy·hidden·gelu'(gate). Each thread writes its own pair.
extern "C" __global__ void geglu_backward(float* dx, const float* dy, const float* x, long long rows, int C)
{
    long long n = rows * C;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        long long r = i / C, c = i % C;
        float hidden = x[r * 2 * C + c], gate = x[r * 2 * C + C + c];
        float cdf = normal_cdf(gate);
        dx[r * 2 * C + c] = dy[i] * (gate * cdf);
        dx[r * 2 * C + C + c] = dy[i] * hidden * (cdf + gate * normal_pdf(gate));
    }
}

extern "C" __global__ void leaky_relu_forward(float* y, const float* x, float slope, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

extern "C" __global__ void leaky_relu_backward(float* dx, const float* dy, const float* x, float slope, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
}

extern "C" __global__ void clamp_forward(float* y, const float* x, float lo, float hi, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = fminf(fmaxf(x[i], lo), hi);
}

extern "C" __global__ void clamp_backward(float* dx, const float* dy, const float* x, float lo, float hi, long long n)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0.0f;
}
