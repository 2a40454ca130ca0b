// cuda_emu.h — runs the project's CUDA kernels (kernels/*.cu) on the CPU, for CI machines without a GPU.
//
// g++ -std=c++20 compiles the very same .cu source after this header: CUDA's qualifiers become plain C++,
// the built-in variables become per-thread state, and emu::launch runs a grid block after block, every CUDA
// thread of a block as a real OS thread, so __syncthreads is a real barrier and warp shuffles/votes exchange
// values through per-warp slots between two per-warp barriers. For a correct program (every thread of a
// block reaches the same __syncthreads, every lane of a warp takes part in a shuffle) the results are those a
// GPU computes, up to floating-point library differences (libm vs libdevice; see docs/gpu.md).
//
// What it maps:
//   __global__ __device__ __host__ __forceinline__ __restrict__    qualifiers (dropped / inline)
//   __shared__                  `static`: one copy per process, and blocks run one at a time, so one per block
//   DYNAMIC_SHARED(type, name)  dynamic shared memory (kernels spell it with this macro; see below)
//   threadIdx blockIdx blockDim gridDim warpSize
//   __syncthreads __syncwarp __shfl_sync __shfl_up_sync __shfl_down_sync __shfl_xor_sync
//   __ballot_sync __all_sync __any_sync __activemask
//   atomicAdd atomicSub atomicMax atomicMin atomicExch atomicCAS (std::atomic_ref), __threadfence
//   math: the C99 float functions from <cmath>, plus rsqrtf __expf __logf __fdividef __saturatef
//         __float_as_uint __uint_as_float __float_as_int __int_as_float __fmul_rn __fadd_rn __ldg min max
// Threads that return early leave every barrier (arrive_and_drop), as exited threads do on a GPU.
// Barriers sleep (mutex + condition variable) rather than spin, so a 256-thread block runs fine on 2 cores.
//
// Not caught: data races that a GPU happens to tolerate, out-of-bounds accesses (no bounds checks: use small
// shapes and compare results), warp-synchronous code without __syncwarp (here lanes are independent threads,
// which is what Volta+ independent scheduling allows), shared memory over the device limit, performance.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __shared__ static
#define __launch_bounds__(...)

struct dim3
{
    unsigned int x = 1, y = 1, z = 1;
};

namespace emu
{
constexpr int kWarpSize = 32;
constexpr std::size_t kDynamicSharedBytes = 96 * 1024;

// A barrier that sleeps instead of spinning: a block is up to 1024 OS threads on a few cores, where
// spin-waiting (std::barrier's strategy) starves the threads that still have to arrive.
// arrive_and_drop: arrive now and leave the party for later phases (a thread that returned from the kernel).
class Barrier
{
public:
    explicit Barrier(int count) : expected_(count) {}

    void arrive_and_wait()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        unsigned long long gen = generation_;
        if (++arrived_ >= expected_) next_phase();
        else cv_.wait(lock, [&] { return generation_ != gen; });
    }

    void arrive_and_drop()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        expected_--;
        if (arrived_ >= expected_ && arrived_ > 0) next_phase();
    }

private:
    void next_phase()
    {
        arrived_ = 0;
        generation_++;
        cv_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    int expected_;
    int arrived_ = 0;
    unsigned long long generation_ = 0;
};

struct Warp
{
    std::unique_ptr<Barrier> barrier;
    alignas(8) unsigned char slots[kWarpSize][8];
};

struct Block
{
    std::unique_ptr<Barrier> sync;
    std::vector<Warp> warps;
};

inline thread_local dim3 t_threadIdx;
inline thread_local dim3 t_blockIdx;
inline thread_local int t_linear;
inline dim3 g_blockDim;
inline dim3 g_gridDim;
inline Block g_block;
alignas(16) inline unsigned char g_dynamic_shared[kDynamicSharedBytes];
inline std::mutex g_launch_mutex;
inline std::string g_last_error;

inline Warp& my_warp() { return g_block.warps[t_linear / kWarpSize]; }
inline int my_lane() { return t_linear % kWarpSize; }

inline void reset_block(unsigned nthreads)
{
    g_block.sync = std::make_unique<Barrier>((int)nthreads);
    unsigned nwarps = (nthreads + kWarpSize - 1) / kWarpSize;
    g_block.warps = std::vector<Warp>(nwarps);
    for (unsigned w = 0; w < nwarps; w++)
    {
        unsigned lanes = nthreads - w * kWarpSize < (unsigned)kWarpSize ? nthreads - w * kWarpSize : kWarpSize;
        g_block.warps[w].barrier = std::make_unique<Barrier>((int)lanes);
    }
}

// Lane exchange: every lane publishes v, all read lane `src` (own value when src is outside the warp).
template <class T>
inline T exchange(T v, int src)
{
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    Warp& w = my_warp();
    std::memcpy(w.slots[my_lane()], &v, sizeof(T));
    w.barrier->arrive_and_wait();
    T r = v;
    int warp_base = (t_linear / kWarpSize) * kWarpSize;
    int lanes = (int)(g_blockDim.x * g_blockDim.y * g_blockDim.z) - warp_base;
    if (src >= 0 && src < kWarpSize && src < lanes) std::memcpy(&r, w.slots[src], sizeof(T));
    w.barrier->arrive_and_wait(); // nobody overwrites a slot before everyone has read
    return r;
}

template <class... A, std::size_t... I>
inline void call_with(void (*kernel)(A...), void** args, std::index_sequence<I...>)
{
    kernel(*static_cast<A*>(args[I])...);
}

// Runs kernel over the grid. args: one pointer per kernel parameter, as cuLaunchKernel takes them.
template <class... A>
inline int launch(void (*kernel)(A...), const unsigned* grid, const unsigned* block, unsigned shared_bytes, void** args)
{
    std::lock_guard<std::mutex> lock(g_launch_mutex);
    if (shared_bytes > kDynamicSharedBytes) { g_last_error = "dynamic shared memory over the emulator's 96 KiB"; return 1; }
    g_gridDim = dim3{grid[0], grid[1], grid[2]};
    g_blockDim = dim3{block[0], block[1], block[2]};
    unsigned nthreads = block[0] * block[1] * block[2];
    if (nthreads == 0 || nthreads > 1024) { g_last_error = "block size must be 1..1024 threads"; return 1; }
    unsigned long long nblocks = (unsigned long long)grid[0] * grid[1] * grid[2];
    reset_block(nthreads);
    // All threads meet here after each block; one thread prepares the next block's barriers meanwhile.
    Barrier end_of_block((int)nthreads), block_ready((int)nthreads);
    std::vector<std::thread> threads;
    threads.reserve(nthreads);
    for (unsigned t = 0; t < nthreads; t++)
    {
        threads.emplace_back([&, t]() {
            t_linear = (int)t;
            t_threadIdx = dim3{t % block[0], (t / block[0]) % block[1], t / (block[0] * block[1])};
            for (unsigned long long b = 0; b < nblocks; b++)
            {
                t_blockIdx = dim3{(unsigned)(b % grid[0]), (unsigned)((b / grid[0]) % grid[1]), (unsigned)(b / ((unsigned long long)grid[0] * grid[1]))};
                call_with(kernel, args, std::index_sequence_for<A...>{});
                g_block.sync->arrive_and_drop();
                my_warp().barrier->arrive_and_drop();
                end_of_block.arrive_and_wait();
                if (t == 0) reset_block(nthreads);
                block_ready.arrive_and_wait();
            }
        });
    }
    for (auto& th : threads) th.join();
    return 0;
}
} // namespace emu

#define threadIdx (emu::t_threadIdx)
#define blockIdx (emu::t_blockIdx)
#define blockDim (emu::g_blockDim)
#define gridDim (emu::g_gridDim)
#define warpSize 32

// Dynamic shared memory: NVRTC has no shared header, so a kernel that needs it writes
//   #ifndef DYNAMIC_SHARED
//   #define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
//   #endif
// and then DYNAMIC_SHARED(float, smem); here it becomes a pointer into one process-wide buffer.
#define DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::g_dynamic_shared)

inline void __syncthreads() { emu::g_block.sync->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::my_warp().barrier->arrive_and_wait(); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T> inline T __shfl_sync(unsigned, T v, int src, int width = 32)
{
    int lane = emu::my_lane();
    return emu::exchange(v, (lane / width) * width + (src % width));
}
template <class T> inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32)
{
    int lane = emu::my_lane();
    int src = (int)(lane + delta);
    return emu::exchange(v, src / width == lane / width ? src : lane);
}
template <class T> inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32)
{
    int lane = emu::my_lane();
    int src = lane - (int)delta;
    return emu::exchange(v, src >= (lane / width) * width ? src : lane);
}
template <class T> inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32)
{
    int lane = emu::my_lane();
    int src = lane ^ mask;
    return emu::exchange(v, src / width == lane / width ? src : lane);
}

inline unsigned __ballot_sync(unsigned, int predicate)
{
    unsigned bits = 0;
    for (int l = 0; l < emu::kWarpSize; l++)
    {
        int p = emu::exchange(predicate ? 1 : 0, l);
        if (p) bits |= 1u << l;
    }
    return bits;
}
inline unsigned __activemask()
{
    int warp_base = (emu::t_linear / emu::kWarpSize) * emu::kWarpSize;
    int lanes = (int)(blockDim.x * blockDim.y * blockDim.z) - warp_base;
    return lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1u;
}
inline int __all_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) == __activemask(); }
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }

template <class T> inline T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <class T> inline T atomicSub(T* p, T v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <class T> inline T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }
template <class T> inline T atomicCAS(T* p, T expected, T desired)
{
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
    return expected;
}
template <class T> inline T atomicMax(T* p, T v)
{
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T> inline T atomicMin(T* p, T v)
{
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old > v && !a.compare_exchange_weak(old, v)) {}
    return old;
}

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int u; std::memcpy(&u, &x, 4); return u; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
template <class T> inline T __ldg(const T* p) { return *p; }
using std::max;
using std::min;

// One exported C entry per kernel: emu_<kernel>(grid[3], block[3], shared bytes, args) → 0 or 1 (see emu_last_error).
#define EMU_EXPORT(kernel)                                                                                      \
    extern "C" __attribute__((visibility("default"))) int emu_##kernel(const unsigned* grid, const unsigned* block, \
                                                                       unsigned shared_bytes, void** args)       \
    {                                                                                                           \
        return emu::launch(kernel, grid, block, shared_bytes, args);                                           \
    }

extern "C" __attribute__((visibility("default"))) inline const char* emu_last_error() { return emu::g_last_error.c_str(); }
