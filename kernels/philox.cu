// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; Random123 constants),
// laid out exactly as the CPU's Engine.Rng.Philox so a (seed, offset) pair gives the same stream everywhere:
//   key     = (seed low 32 bits, seed high 32 bits)
//   element i of a fill starting at stream offset o: counter c = (o + i) / 4 as (c low32, c high32, 0, 0),
//   lane (o + i) % 4 of that counter's four outputs.
//   uniform: u(x) = ((x >> 8) + 1) · 2^-24, in (0, 1]   (24 random bits, exactly representable: bit-identical)
//   normal: Box–Muller per counter: lanes 0,1 from (u1 = u(x0), u2 = u(x1)), lanes 2,3 from (x2, x3):
//           r = sqrtf(−2·logf(u1)), θ = 2π·u2, first = r·cosf(θ), second = r·sinf(θ).
// Integer steps and the uniform are bit-identical to the CPU. The normals go through logf/cosf/sinf, whose last
// bit may differ between CUDA's libdevice and the host libm (docs/gpu.md).
// One thread per element recomputes its counter's block (10 rounds); the RNG is cheap next to everything else.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static __device__ __forceinline__ void philox4x32_10(unsigned int ctr[4], unsigned int key0, unsigned int key1)
{
    for (int round = 0; round < 10; round++)
    {
        unsigned long long p0 = (unsigned long long)PHILOX_M0 * ctr[0];
        unsigned long long p1 = (unsigned long long)PHILOX_M1 * ctr[2];
        unsigned int hi0 = (unsigned int)(p0 >> 32), lo0 = (unsigned int)p0;
        unsigned int hi1 = (unsigned int)(p1 >> 32), lo1 = (unsigned int)p1;
        unsigned int c0 = hi1 ^ ctr[1] ^ key0;
        unsigned int c2 = hi0 ^ ctr[3] ^ key1;
        ctr[0] = c0;
        ctr[1] = lo1;
        ctr[2] = c2;
        ctr[3] = lo0;
        key0 += PHILOX_W0;
        key1 += PHILOX_W1;
    }
}

static __device__ __forceinline__ float philox_u01(unsigned int x)
{
    return ((float)(x >> 8) + 1.0f) * 5.9604644775390625e-8f; // 2^-24: never 0, so logf(u) is finite
}

static __device__ __forceinline__ void philox_block(unsigned int out[4], unsigned long long counter, unsigned int key0, unsigned int key1)
{
    out[0] = (unsigned int)counter;
    out[1] = (unsigned int)(counter >> 32);
    out[2] = 0u;
    out[3] = 0u;
    philox4x32_10(out, key0, key1);
}

extern "C" __global__ void philox_uniform(float* y, long long n, unsigned int key0, unsigned int key1, unsigned long long offset)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        unsigned long long e = offset + (unsigned long long)i;
        unsigned int x[4];
        philox_block(x, e >> 2, key0, key1);
        y[i] = philox_u01(x[e & 3]);
    }
}

extern "C" __global__ void philox_normal(float* y, long long n, unsigned int key0, unsigned int key1, unsigned long long offset)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        unsigned long long e = offset + (unsigned long long)i;
        unsigned int x[4];
        philox_block(x, e >> 2, key0, key1);
        int lane = (int)(e & 3);
        int pair = lane & 2; // lanes 0,1 use (x0, x1); lanes 2,3 use (x2, x3)
        float u1 = philox_u01(x[pair]), u2 = philox_u01(x[pair + 1]);
        float r = sqrtf(-2.0f * logf(u1));
        float theta = 6.28318530717958648f * u2;
        y[i] = (lane & 1) ? r * sinf(theta) : r * cosf(theta);
    }
}
