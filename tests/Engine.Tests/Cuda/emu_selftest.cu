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

// Barriers inside a loop, in a block of up to 1024 threads: a Hillis-Steele inclusive scan through two shared
// buffers. Thread t of block b contributes t + 1 + b, so out[b * n + t] = (t + 1)(t + 2) / 2 + (t + 1) b.
extern "C" __global__ void selftest_scan(int* out)
{
    __shared__ int buf[2][1024];
    int t = threadIdx.x, n = blockDim.x, cur = 0;
    buf[0][t] = t + 1 + (int)blockIdx.x;
    __syncthreads();
    for (int offset = 1; offset < n; offset <<= 1)
    {
        buf[1 - cur][t] = buf[cur][t] + (t >= offset ? buf[cur][t - offset] : 0);
        cur = 1 - cur;
        __syncthreads();
    }
    out[blockIdx.x * n + t] = buf[cur][t];
}

// Threads leaving at different rounds of a loop with a __syncthreads in it: thread t returns at round t % 4,
// so round r counts the n (4 - r) / 4 threads still there. Each thread that stays to the end (t % 4 == 3)
// writes the sum of the four counts: out[b * n / 4 + t / 4] = n (4 + 3 + 2 + 1) / 4 for n a multiple of 4.
extern "C" __global__ void selftest_staggered_exit(int* out)
{
    __shared__ int count[4];
    int t = threadIdx.x, n = blockDim.x, seen = 0;
    if (t < 4) count[t] = 0;
    __syncthreads();
    for (int r = 0; r < 4; r++)
    {
        if (t % 4 < r) return;
        atomicAdd(&count[r], 1);
        __syncthreads();
        seen += count[r];
    }
    out[blockIdx.x * (n / 4) + t / 4] = seen;
}

// Shuffles and votes in 16-lane segments, in a block of 48 threads: one full warp and one warp of 16 lanes,
// each with the mask of its lanes. Per thread: out[4 i] = Σ lanes of its segment (xor butterfly),
// out[4 i + 1] = its lane + 1 except at the segment's end (shuffle down keeps its own), out[4 i + 2] = the
// ballot of odd lanes, out[4 i + 3] = the active mask.
extern "C" __global__ void selftest_partial_warp(int* out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x & 31;
    unsigned mask = __activemask();
    int v = lane;
    for (int m = 8; m > 0; m >>= 1) v += __shfl_xor_sync(mask, v, m, 16);
    out[4 * i] = v;
    out[4 * i + 1] = __shfl_down_sync(mask, lane, 1, 16);
    out[4 * i + 2] = (int)__ballot_sync(mask, lane & 1);
    out[4 * i + 3] = (int)mask;
}

// A 3-D grid of many blocks of 3-D blocks: every thread writes its block's and its own coordinates, and the
// value its next neighbour in the block put in shared memory before a __syncthreads.
// out[3 i + 0, 1, 2] with i the global linear thread index: bx + 1000 by + 1000000 bz, the same for the
// thread, and i + 1 wrapped within the block.
extern "C" __global__ void selftest_grid(int* out)
{
    __shared__ int s[1024];
    int n = blockDim.x * blockDim.y * blockDim.z;
    int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int b = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    int i = b * n + t;
    s[t] = i;
    __syncthreads();
    out[3 * i] = (int)(blockIdx.x + 1000 * blockIdx.y + 1000000 * blockIdx.z);
    out[3 * i + 1] = (int)(threadIdx.x + 1000 * threadIdx.y + 1000000 * threadIdx.z);
    out[3 * i + 2] = s[(t + 1) % n];
}

// A broken kernel, for the emulator's deadlock report only (never launch it on a GPU): thread 0 waits at
// __syncthreads while the other lanes of its warp wait at __syncwarp, so neither barrier can complete.
extern "C" __global__ void selftest_deadlock(int* out)
{
    if (threadIdx.x == 0) __syncthreads();
    else __syncwarp();
    out[threadIdx.x] = 1;
}

// The emulator's schedule (not a GPU property; on a GPU any order is valid): between two __syncthreads the
// threads of a block take tickets in thread order, in the first phase and again after the barrier.
// out[t] and out[n + t] = t.
extern "C" __global__ void selftest_order(int* out)
{
    __shared__ int ticket[2];
    int n = blockDim.x;
    if (threadIdx.x == 0) ticket[0] = ticket[1] = 0;
    __syncthreads();
    out[threadIdx.x] = atomicAdd(&ticket[0], 1);
    __syncthreads();
    out[n + threadIdx.x] = atomicAdd(&ticket[1], 1);
}
