// conv2d as GEMM (CPU twins: CpuOps.Conv.cs and Im2Col.cs). For one image x [C, H, W] and output rows [oy0, oy1)
// (a band; the whole image when oy0 = 0 and oy1 = OutH), P = (oy1 − oy0)·OutW:
//   im2col:  col [(c·R + r)·S + s][(oh − oy0)·OutW + ow] = x[c][oh·sh − ph + r][ow·sw − pw + s], 0 outside the image
//   col2im:  its adjoint, dx[c][ih][iw] (+)= Σ_{r,s} col[...] of the output positions that read (ih, iw).
// col2im gathers per input pixel (one thread writes each dx element: no atomics), adding the (r, s) terms in the
// CPU's order, so with the same columns it gives the CPU's bits. conv_bias_forward/backward add the per-output-
// channel bias and sum its gradient (one block per channel, images in order, a fixed tree: deterministic).

#define CONV_THREADS 256

extern "C" __global__ void im2col_f32(float* col, const float* x, int C, int H, int W, int R, int S,
                                      int strideH, int strideW, int padH, int padW, int outW, int oy0, int oy1)
{
    long long p = (long long)(oy1 - oy0) * outW;
    long long n = (long long)C * R * S * p;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        long long row = i / p;
        int q = (int)(i - row * p);
        int oh = oy0 + q / outW, ow = q % outW;
        int sx = (int)(row % S), r = (int)((row / S) % R), c = (int)(row / ((long long)R * S));
        int ih = oh * strideH - padH + r, iw = ow * strideW - padW + sx;
        col[i] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[((long long)c * H + ih) * W + iw] : 0.0f;
    }
}

// accumulate = 0: dx is overwritten (the first band); 1: the band's terms are added to dx.
extern "C" __global__ void col2im_f32(float* dx, const float* col, int C, int H, int W, int R, int S,
                                      int strideH, int strideW, int padH, int padW, int outW, int oy0, int oy1, int accumulate)
{
    long long p = (long long)(oy1 - oy0) * outW;
    long long n = (long long)C * H * W;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        int iw = (int)(i % W), ih = (int)((i / W) % H), c = (int)(i / ((long long)H * W));
        float acc = accumulate ? dx[i] : 0.0f;
        for (int r = 0; r < R; r++)
        {
            int th = ih + padH - r; // = oh·strideH
            if (th < 0 || th % strideH != 0) continue;
            int oh = th / strideH;
            if (oh < oy0 || oh >= oy1) continue;
            for (int sx = 0; sx < S; sx++)
            {
                int tw = iw + padW - sx;
                if (tw < 0 || tw % strideW != 0) continue;
                int ow = tw / strideW;
                if (ow >= outW) continue;
                acc += col[((long long)(c * R + r) * S + sx) * p + (long long)(oh - oy0) * outW + ow];
            }
        }
        dx[i] = acc;
    }
}

// y [N, K, P] += bias [K].
extern "C" __global__ void conv_bias_forward(float* y, const float* bias, long long n, int K, long long P)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = y[i] + bias[(i / P) % K];
}

// dbias [K] += Σ_n Σ_p dy [N, K, P] (accumulates: a parameter gradient). One block per channel, launch with
// CONV_THREADS: each thread sums a strided subset of every image in double, the block adds them in a fixed tree.
extern "C" __global__ void conv_bias_backward(float* dbias, const float* dy, int N, int K, long long P)
{
    __shared__ double scratch[CONV_THREADS / 32];
    for (int k = blockIdx.x; k < K; k += gridDim.x)
    {
        double v = 0.0;
        for (int n = 0; n < N; n++)
            for (long long i = threadIdx.x; i < P; i += blockDim.x) v += (double)dy[((long long)n * K + k) * P + i];
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (lane == 0) scratch[warp] = v;
        __syncthreads();
        if (warp == 0)
        {
            v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.0;
            for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
            if (lane == 0) dbias[k] += (float)v;
        }
        __syncthreads();
    }
}
