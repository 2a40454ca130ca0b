// cuda_emu.h — runs the project's CUDA kernels (kernels/*.cu) on the CPU, for CI machines without a GPU.
//
// g++ -std=c++20 compiles the very same .cu source after this header: CUDA's qualifiers become plain C++,
// the built-in variables become per-thread state, and emu::launch runs a grid block after block on the
// launching OS thread, every CUDA thread of a block as a fiber (a user-mode context with its own stack,
// switched cooperatively). A thread runs until it reaches a barrier or returns; __syncthreads is a real
// barrier (a fiber that arrives waits; the last to arrive lets them all go on), and warp shuffles/votes
// exchange values through per-warp slots around a per-warp barrier. For a correct program (every thread
// of a block reaches the same __syncthreads, every lane of a warp takes part in a shuffle) the results are
// those a GPU computes, up to floating-point library differences (libm vs libdevice; see docs/gpu.md).
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
// A block whose threads wait at barriers that the others never reach (a __syncthreads inside a branch only
// some threads take, a shuffle only some lanes of a warp call) fails the launch with "deadlock ..." in
// emu_last_error, where a GPU would hang or be undefined.
//
// Not caught: data races that a GPU happens to tolerate, out-of-bounds accesses (no bounds checks: use small
// shapes and compare results), warp-synchronous code without __syncwarp (here lanes run one after another
// between barriers, which is one of the orders Volta+ independent scheduling allows), shared memory over the
// device limit, a thread using more than kStackBytes of stack (it hits a guard page), performance.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>
// The hand-written switch is for x86-64; elsewhere (or with -DEMU_USE_UCONTEXT, to test the fallback on
// x86-64) fibers use <ucontext.h>.
#if defined(__x86_64__) && !defined(EMU_USE_UCONTEXT)
#define EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

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

// ---- Context switch ------------------------------------------------------------------------------------
// x86-64 (System V): a context is just a saved stack pointer. emu_fiber_switch(&from_sp, to_sp) pushes the
// callee-saved registers (rbp rbx r12-r15) on the current stack, stores rsp in *from_sp, loads to_sp and pops
// the same registers from there, then `ret`s into the other context. It is a real out-of-line function the
// compiler knows nothing about, so at every call it assumes memory may have changed and caller-saved registers
// are lost: nothing is cached across a switch that another fiber could have written. The caller-saved
// registers, the x87/SSE control words (never changed by kernels) and the red zone need no saving.
// Weak + hidden: one copy per shared library even if several translation units include this header.
#if defined(EMU_ASM_SWITCH)
asm(R"(
    .pushsection .text
    .p2align 4
    .weak emu_fiber_switch
    .hidden emu_fiber_switch
    .type emu_fiber_switch, @function
emu_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_fiber_switch, .-emu_fiber_switch
    .popsection
)");
extern "C" void emu_fiber_switch(void** from_sp, void* to_sp);
#endif

namespace emu
{
constexpr int kWarpSize = 32;
constexpr int kMaxThreads = 1024;
constexpr std::size_t kDynamicSharedBytes = 96 * 1024;
// Per-thread stack. Kernels keep at most a few small local arrays (attention.cu: float[5]); libm and the
// scheduler need a few KiB more. Pages are only committed when touched, so this is address space, not memory.
constexpr std::size_t kStackBytes = 256 * 1024;

#if defined(EMU_ASM_SWITCH)
struct Context
{
    void* sp = nullptr;
};
inline void switch_context(Context& from, Context& to) { emu_fiber_switch(&from.sp, to.sp); }
#else
// Portable fallback: slower (swapcontext also saves the signal mask, a system call per switch) but correct.
struct Context
{
    ucontext_t uc;
};
inline void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// One CUDA thread. A fiber is either running, in the ready queue, waiting at exactly one barrier, or done,
// so one intrusive `next` link serves every queue.
struct Fiber
{
    Context ctx;
    dim3 tid;
    int linear = 0;
    Fiber* next = nullptr;
};

// A FIFO of fibers linked through Fiber::next.
struct Queue
{
    Fiber* head = nullptr;
    Fiber* tail = nullptr;

    void push(Fiber* f)
    {
        f->next = nullptr;
        if (tail) tail->next = f;
        else head = f;
        tail = f;
    }
    Fiber* pop()
    {
        Fiber* f = head;
        if (f && !(head = f->next)) tail = nullptr;
        return f;
    }
    void prepend(Queue& other) // moves all of other's fibers to the front, in order
    {
        if (!other.head) return;
        other.tail->next = head;
        if (!head) tail = other.tail;
        head = other.head;
        other.head = other.tail = nullptr;
    }
};

// Scheduler state. Launches are serialized by g_launch_mutex and run entirely on the launching OS thread,
// so plain globals suffice (one set per shared library, as the header is compiled into each).
inline Fiber g_fibers[kMaxThreads];
inline Fiber* g_current = nullptr;
inline Queue g_ready;
inline Context g_main;   // the launching thread's own context, resumed when no fiber is ready
inline int g_done = 0;   // threads of the current block that have returned
inline void (*g_run)() = nullptr; // calls the launched kernel with its arguments (set per launch)
inline unsigned char* g_stacks = nullptr;

// The built-in variables of the running fiber, copied in on every switch (cheaper than indirecting).
inline dim3 g_threadIdx;
inline dim3 g_blockIdx;
inline int g_linear;
inline dim3 g_blockDim;
inline dim3 g_gridDim;

// Switches from the running fiber (already queued somewhere, or done) to the next ready one, or back to the
// launching thread when none is ready (the block is over, or deadlocked).
inline void yield_to_next()
{
    Fiber* self = g_current;
    Fiber* next = g_ready.pop();
    if (!next)
    {
        switch_context(self->ctx, g_main);
        return;
    }
    g_current = next;
    g_threadIdx = next->tid;
    g_linear = next->linear;
    switch_context(self->ctx, next->ctx);
}

// A cooperative barrier: a fiber that arrives before the others waits (leaves the ready queue); the last to
// arrive queues itself behind them and puts them all at the front of the ready queue. Waiters queue in the
// order they arrive, so a block's threads keep running in thread order in every phase (and a warp's lanes in
// lane order): one switch more per phase than letting the last one carry on, but the order is the same
// every time and easy to state (docs/gpu.md: which missing barriers show).
// arrive_and_drop: arrive now and leave the party for later phases (a thread that returned from the kernel).
class Barrier
{
public:
    void reset(int count)
    {
        expected_ = count;
        arrived_ = 0;
        phase_ = 0;
        waiting_ = Queue{};
    }

    void arrive_and_wait()
    {
        if (++arrived_ >= expected_ && !waiting_.head) // the only member: nothing to wait for
        {
            release();
            return;
        }
        waiting_.push(g_current);
        if (arrived_ >= expected_) release();
        yield_to_next();
    }

    void arrive_and_drop()
    {
        expected_--;
        if (arrived_ >= expected_ && arrived_ > 0) release();
    }

    // How many phases have completed: every member that has not yet arrived at the current phase reads the
    // same value.
    unsigned phase() const { return phase_; }

private:
    // The released fibers run next, before fibers that have not reached the barrier yet: a warp then goes
    // through all its shuffles on its 32 stacks (hot in cache) before the next warp starts, rather than every
    // shuffle sweeping the whole block's stacks. Any order is correct; this one is faster.
    void release()
    {
        arrived_ = 0;
        phase_++;
        g_ready.prepend(waiting_);
    }

    int expected_ = 0;
    int arrived_ = 0;
    unsigned phase_ = 0;
    Queue waiting_;
};

// Shuffles and votes exchange through two sets of slots, picked by the parity of the warp barrier's phase:
// a lane writes set p, arrives, and reads set p after the barrier. Set p is written again only two phases
// later, and getting there takes every lane through phase p + 1, which each one reaches after its read, so
// one barrier per exchange suffices (instead of a second one to protect the slots from the next write).
struct Warp
{
    Barrier barrier;
    alignas(8) unsigned char slots[2][kWarpSize][8];
};

struct Block
{
    Barrier sync;
    Warp warps[kMaxThreads / kWarpSize];
};

alignas(16) inline unsigned char g_dynamic_shared[kDynamicSharedBytes];
inline Block g_block;
inline std::mutex g_launch_mutex;
inline std::string g_last_error;

inline Warp& my_warp() { return g_block.warps[g_linear / kWarpSize]; }
inline int my_lane() { return g_linear % kWarpSize; }

// Lane exchange: every lane publishes v, all read lane `src` (own value when src is outside the warp).
template <class T>
inline T exchange(T v, int src)
{
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    Warp& w = my_warp();
    auto& slots = w.slots[w.barrier.phase() & 1];
    std::memcpy(slots[my_lane()], &v, sizeof(T));
    w.barrier.arrive_and_wait();
    T r = v;
    int warp_base = (g_linear / kWarpSize) * kWarpSize;
    int lanes = (int)(g_blockDim.x * g_blockDim.y * g_blockDim.z) - warp_base;
    if (src >= 0 && src < kWarpSize && src < lanes) std::memcpy(&r, slots[src], sizeof(T));
    return r;
}

// Vote: every lane publishes its predicate, all read every present lane's (lanes past a partial warp's end
// count as 0). One exchange for the whole ballot rather than one per lane.
inline unsigned ballot(int predicate)
{
    Warp& w = my_warp();
    auto& slots = w.slots[w.barrier.phase() & 1];
    slots[my_lane()][0] = predicate ? 1 : 0;
    w.barrier.arrive_and_wait();
    int warp_base = (g_linear / kWarpSize) * kWarpSize;
    int lanes = (int)(g_blockDim.x * g_blockDim.y * g_blockDim.z) - warp_base;
    unsigned bits = 0;
    for (int l = 0; l < kWarpSize && l < lanes; l++) bits |= (unsigned)slots[l][0] << l;
    return bits;
}

// Every fiber runs this forever: the kernel for its thread of the current block, then it leaves the block's
// barriers and hands over to the next ready fiber. The next block resumes it right there, so a fiber is set
// up once per launch, not once per block. It never returns (there is nothing to return to).
[[noreturn]] inline void fiber_main()
{
    for (;;)
    {
        g_run();
        g_block.sync.arrive_and_drop();
        my_warp().barrier.arrive_and_drop();
        g_done++;
        yield_to_next();
    }
}

// Reserves the stacks once per process (per shared library): kMaxThreads stacks, each with a PROT_NONE guard
// page below it, so an overflow faults instead of silently writing into the neighbour's stack.
inline bool reserve_stacks()
{
    if (g_stacks) return true;
    std::size_t page = (std::size_t)sysconf(_SC_PAGESIZE);
    std::size_t slot = kStackBytes + page;
    void* p = mmap(nullptr, slot * kMaxThreads, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    for (int i = 0; i < kMaxThreads; i++) mprotect((unsigned char*)p + i * slot, page, PROT_NONE);
    g_stacks = (unsigned char*)p;
    return true;
}

// Gives fiber i a fresh context that starts in fiber_main on its own stack.
inline void init_fiber(int i)
{
    std::size_t slot = kStackBytes + (std::size_t)sysconf(_SC_PAGESIZE);
    // Stacks grow down; the guard page is at the bottom. The tops are staggered by a cache line per fiber:
    // page-aligned tops would all fall in the same L1 sets, and a warp's 32 hot stack tops would evict each other.
    unsigned char* top = g_stacks + (i + 1) * slot - (i % 64) * 64;
#if defined(EMU_ASM_SWITCH)
    // The first switch into the fiber pops six zeroed callee-saved registers and `ret`s into fiber_main, which
    // then sees rsp ≡ 8 (mod 16), as after a `call` from a 16-byte-aligned frame (the ABI's entry alignment).
    // Above the entry address sits a null return address that fiber_main never uses.
    void** sp = (void**)((std::uintptr_t)top & ~(std::uintptr_t)15);
    *--sp = nullptr;
    *--sp = (void*)&fiber_main;
    for (int r = 0; r < 6; r++) *--sp = nullptr;
    g_fibers[i].ctx.sp = sp;
#else
    ucontext_t& uc = g_fibers[i].ctx.uc;
    getcontext(&uc);
    uc.uc_stack.ss_sp = top - kStackBytes;
    uc.uc_stack.ss_size = kStackBytes;
    uc.uc_link = nullptr;
    makecontext(&uc, (void (*)())&fiber_main, 0);
#endif
}

// Readies the barriers and the run queue for one block of nthreads (all threads ready, in thread order).
inline void reset_block(unsigned nthreads)
{
    g_block.sync.reset((int)nthreads);
    unsigned nwarps = (nthreads + kWarpSize - 1) / kWarpSize;
    for (unsigned w = 0; w < nwarps; w++)
    {
        unsigned lanes = nthreads - w * kWarpSize < (unsigned)kWarpSize ? nthreads - w * kWarpSize : kWarpSize;
        g_block.warps[w].barrier.reset((int)lanes);
    }
    g_ready = Queue{};
    for (unsigned t = 0; t < nthreads; t++) g_ready.push(&g_fibers[t]);
    g_done = 0;
}

template <class... A, std::size_t... I>
inline void call_with(void (*kernel)(A...), void** args, std::index_sequence<I...>)
{
    kernel(*static_cast<A*>(args[I])...);
}

// The kernel and arguments of the running launch, for g_run (a plain function pointer per kernel type).
inline void (*g_kernel)() = nullptr;
inline void** g_args = nullptr;

template <class... A>
inline void run_kernel()
{
    call_with(reinterpret_cast<void (*)(A...)>(g_kernel), g_args, std::index_sequence_for<A...>{});
}

// Runs kernel over the grid. args: one pointer per kernel parameter, as cuLaunchKernel takes them.
template <class... A>
inline int launch(void (*kernel)(A...), const unsigned* grid, const unsigned* block, unsigned shared_bytes, void** args)
{
    std::lock_guard<std::mutex> lock(g_launch_mutex);
    if (shared_bytes > kDynamicSharedBytes) { g_last_error = "dynamic shared memory over the emulator's 96 KiB"; return 1; }
    unsigned nthreads = block[0] * block[1] * block[2];
    if (nthreads == 0 || nthreads > (unsigned)kMaxThreads) { g_last_error = "block size must be 1..1024 threads"; return 1; }
    if (!reserve_stacks()) { g_last_error = "could not map the emulator's fiber stacks"; return 1; }
    g_gridDim = dim3{grid[0], grid[1], grid[2]};
    g_blockDim = dim3{block[0], block[1], block[2]};
    g_kernel = reinterpret_cast<void (*)()>(kernel);
    g_args = args;
    g_run = &run_kernel<A...>;
    for (unsigned t = 0; t < nthreads; t++)
    {
        init_fiber((int)t); // fresh each launch: a deadlocked launch may have left fibers mid-kernel
        g_fibers[t].linear = (int)t;
        g_fibers[t].tid = dim3{t % block[0], (t / block[0]) % block[1], t / (block[0] * block[1])};
    }
    unsigned long long nblocks = (unsigned long long)grid[0] * grid[1] * grid[2];
    for (unsigned long long b = 0; b < nblocks; b++)
    {
        g_blockIdx = dim3{(unsigned)(b % grid[0]), (unsigned)((b / grid[0]) % grid[1]), (unsigned)(b / ((unsigned long long)grid[0] * grid[1]))};
        reset_block(nthreads);
        Fiber* first = g_ready.pop();
        g_current = first;
        g_threadIdx = first->tid;
        g_linear = first->linear;
        switch_context(g_main, first->ctx); // back here when no fiber is ready any more
        if (g_done != (int)nthreads)
        {
            char msg[200];
            std::snprintf(msg, sizeof msg,
                          "deadlock in block (%u, %u, %u): %d of %u threads wait at a barrier the others never reach "
                          "(__syncthreads in divergent code, or a shuffle/vote/__syncwarp not every lane takes part in)",
                          g_blockIdx.x, g_blockIdx.y, g_blockIdx.z, (int)nthreads - g_done, nthreads);
            g_last_error = msg;
            return 1;
        }
    }
    return 0;
}
} // namespace emu

#define threadIdx (emu::g_threadIdx)
#define blockIdx (emu::g_blockIdx)
#define blockDim (emu::g_blockDim)
#define gridDim (emu::g_gridDim)
#define warpSize 32

// Dynamic shared memory: NVRTC has no shared header, so a kernel that needs it writes
//   #ifndef DYNAMIC_SHARED
//   #define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
//   #endif
// and then DYNAMIC_SHARED(float, smem); here it becomes a pointer into one process-wide buffer.
#define DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::g_dynamic_shared)

inline void __syncthreads() { emu::g_block.sync.arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::my_warp().barrier.arrive_and_wait(); }
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

inline unsigned __ballot_sync(unsigned mask, int predicate) { return emu::ballot(predicate) & mask; }
inline unsigned __activemask()
{
    int warp_base = (emu::g_linear / emu::kWarpSize) * emu::kWarpSize;
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

// `used`: an inline function nothing in the library calls would otherwise not be emitted at all.
extern "C" __attribute__((visibility("default"), used)) inline const char* emu_last_error() { return emu::g_last_error.c_str(); }
