// Self-test of kernels/emu/cuda_emu.h: the GPU features the emulator claims to reproduce, each in a tiny
// kernel with a result that is known in closed form. Also compiled by NVRTC in the tests, to keep it in the
// subset both compilers accept. Not a production kernel (not embedded in Engine.Cuda).

#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

// out[block] = Σ over the block of (thread index + 1), by a shared-memory tree; threads past `active` return
// early, before the barrier (exited threads must not deadlock __syncthreads).
extern "C" __global__ void selftest_shared_tree(int* out, int active)
{
    __shared__ int partial[256];
    partial[threadIdx.x] = 0;
    __syncthreads();
    if ((int)threadIdx.x >= active) return;
    partial[threadIdx.x] = (int)threadIdx.x + 1;
    __syncthreads();
    if (threadIdx.x == 0)
    {
        int total = 0;
        for (int i = 0; i < active; i++) total += partial[i];
        out[blockIdx.x] = total;
    }
}

// Warp collectives: per warp, the butterfly sum of lane ids (xor shuffle), the ballot of odd lanes, all/any,
// and the lane broadcast of lane 5's value. out[warp * 5 + k].
extern "C" __global__ void selftest_warp(int* out)
{
    int lane = threadIdx.x & 31, warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int v = lane;
    for (int mask = 16; mask > 0; mask >>= 1) v += __shfl_xor_sync(0xffffffffu, v, mask);
    unsigned odd = __ballot_sync(0xffffffffu, lane & 1);
    int all = __all_sync(0xffffffffu, lane < 32);
    int any = __any_sync(0xffffffffu, lane == 31);
    float b = __shfl_sync(0xffffffffu, (float)lane * 1.5f, 5);
    int up = __shfl_up_sync(0xffffffffu, lane, 1); // lane 0 keeps its own value
    if (lane == 0)
    {
        out[warp * 6 + 0] = v;
        out[warp * 6 + 1] = (int)odd;
        out[warp * 6 + 2] = all;
        out[warp * 6 + 3] = any;
        out[warp * 6 + 4] = (int)(b * 2.0f);
        out[warp * 6 + 5] = up;
    }
}

// Atomics across blocks: every thread adds 1 to counter[0] and its global id to counter[1].
extern "C" __global__ void selftest_atomics(unsigned int* counter, float* fsum, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    atomicAdd(&counter[0], 1u);
    atomicAdd(&counter[1], (unsigned int)i);
    atomicMax((int*)&counter[2], i);
    atomicAdd(fsum, 0.5f);
}

// Dynamic shared memory and a 2-D block: the block transposes its tile through shared memory.
// x, y: [blockDim.y, blockDim.x] and [blockDim.x, blockDim.y] per block, blocks laid side by side.
extern "C" __global__ void selftest_dynamic_transpose(float* y, const float* x)
{
    DYNAMIC_SHARED(float, tile);
    int w = blockDim.x, h = blockDim.y, base = blockIdx.x * w * h;
    tile[threadIdx.y * w + threadIdx.x] = x[base + threadIdx.y * w + threadIdx.x];
    __syncthreads();
    // thread (tx, ty) writes y[tx', ty'] with the linear index reinterpreted for the transposed shape
    int linear = threadIdx.y * w + threadIdx.x;
    int r = linear / h, c = linear % h; // row r of y has h columns
    y[base + r * h + c] = tile[c * w + r];
}
