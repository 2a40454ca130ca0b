// Deterministic reductions over a flat f32 buffer cut into segments (one segment per parameter tensor).
//
// Two stages, no atomics, so the result is the same bits on every run:
//   1. reduce_chunk_partials: one block per chunk. The host cuts every segment into chunks of at most
//      REDUCE_CHUNK elements (a chunk never crosses a segment boundary) and passes their [begin, end).
//      Each thread sums a fixed strided subset in double; the block combines its threads in a fixed tree
//      (warp shuffles, then one warp over the warp sums). One double per chunk.
//   2. reduce_segment_combine: one thread per segment adds its chunks' partials in chunk order.
// The chunk size is a constant, not a function of the device, so the summation order is the same on
// every GPU. Launch both with REDUCE_THREADS threads per block.
//
// mode 0: Σ a          mode 1: Σ a·b   (Σ a² is mode 1 with b = a)

#define REDUCE_THREADS 256

// Sum of v over the block; the result is valid in thread 0. `scratch` holds REDUCE_THREADS/32 doubles.
// Ends with a barrier so the caller may reuse scratch at once.
static __device__ double block_sum_f64(double v, double* scratch)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.0;
        for (int offset = 16; offset > 0; offset >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, offset);
    }
    __syncthreads();
    return v;
}

extern "C" __global__ void reduce_chunk_partials(double* partial, const float* a, const float* b,
                                                 const long long* chunk_begin, const long long* chunk_end,
                                                 int nchunks, int mode)
{
    __shared__ double scratch[REDUCE_THREADS / 32];
    for (int chunk = blockIdx.x; chunk < nchunks; chunk += gridDim.x)
    {
        double acc = 0.0;
        for (long long i = chunk_begin[chunk] + threadIdx.x; i < chunk_end[chunk]; i += blockDim.x)
            acc += mode == 0 ? (double)a[i] : (double)a[i] * (double)b[i];
        double total = block_sum_f64(acc, scratch);
        if (threadIdx.x == 0) partial[chunk] = total;
    }
}

// seg_first_chunk [nseg + 1]: the chunks of segment s are [seg_first_chunk[s], seg_first_chunk[s + 1]).
extern "C" __global__ void reduce_segment_combine(float* result, const double* partial, const int* seg_first_chunk, int nseg)
{
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < nseg; s += gridDim.x * blockDim.x)
    {
        double total = 0.0;
        for (int k = seg_first_chunk[s]; k < seg_first_chunk[s + 1]; k++)
            total += partial[k];
        result[s] = (float)total;
    }
}
