// DoCo's concept-preserving gradient ("gradient surgery"), fused; the spec is docs/doco-spec.md
// §4 (procedure) and §7.2/§7.4 (choices). Its CPU twin, the reference, is Engine.Cpu.GradientSurgery.
//
// Inputs: the flat unlearning gradient g_u (from L_adv), the flat retain gradient g_r (from L_ret), both
// UNCLIPPED, and the segment table of the trainable tensors (one segment per tensor; the surgery works per
// tensor, each flattened). Clipping to the global norm max_norm (torch.nn.utils.clip_grad_norm_, applied to
// each gradient separately before the adjustment, spec §4 steps 1–2) is folded in as scales:
//   s = min(1, max_norm / (‖g‖ + 1e-6))  over all segments, for g_u and g_r separately (max_norm ≤ 0: s = 1)
//   g_u,c = s_u·g_u,  g_r,c = s_r·g_r
// Per tensor, two rules (rule 0 = official HEAD code, rule 1 = exact projection, [OFF-v0] and spec §7.2's default):
//   rule 0 (HEAD): cos = ⟨g_u,c/(‖g_u,c‖+1e-8), g_r,c/(‖g_r,c‖+1e-8)⟩;
//                  if cos < 0: g_u ← g_u,c − λ·cos·g_r,c/(‖g_r,c‖+1e-8)  else g_u ← g_u,c
//   rule 1 (exact): if ⟨g_u,c, g_r,c⟩ < 0: g_u ← g_u,c − λ·⟨g_u,c, g_r,c⟩/‖g_r,c‖²·g_r,c  else g_u ← g_u,c
// Either way the result is g_u ← a·g_u + b·g_r with per-tensor a = s_u and b from the rule, so:
//   pass 1  surgery_chunk_partials: ⟨g_u,g_u⟩, ⟨g_r,g_r⟩, ⟨g_u,g_r⟩ per chunk (double, fixed tree, no atomics)
//   pass 1b surgery_coefficients:  one block: per-segment sums in chunk order, global norms, clip scales,
//                                  (a, b) per segment, and telemetry
//   pass 2  surgery_apply:         g_u[i] ← a·g_u[i] + b·g_r[i] over each chunk
// Nothing goes back to the host in between. g_r is not added to the update (spec §4 step 4).
//
// stats [nseg + 1, 4]: row s < nseg = (cos, fired 0/1, ‖g_u,c‖, ‖g_r,c‖) of tensor s;
//                      row nseg     = (‖g_u‖, ‖g_r‖ before clipping, s_u, s_r).
// A zero retain gradient gives cos = 0, never fires, never divides by zero.
// Launch every kernel with SURGERY_THREADS threads per block; the chunk table is as in reduce.cu.

#define SURGERY_THREADS 256

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

// partial [nchunks, 3] = (Σ g_u², Σ g_r², Σ g_u·g_r) of each chunk.
extern "C" __global__ void surgery_chunk_partials(double* partial, const float* gu, const float* gr,
                                                  const long long* chunk_begin, const long long* chunk_end, int nchunks)
{
    __shared__ double scratch[SURGERY_THREADS / 32];
    for (int chunk = blockIdx.x; chunk < nchunks; chunk += gridDim.x)
    {
        double uu = 0.0, rr = 0.0, ur = 0.0;
        for (long long i = chunk_begin[chunk] + threadIdx.x; i < chunk_end[chunk]; i += blockDim.x)
        {
            double u = gu[i], r = gr[i];
            uu += u * u;
            rr += r * r;
            ur += u * r;
        }
        uu = block_sum_f64(uu, scratch);
        rr = block_sum_f64(rr, scratch);
        ur = block_sum_f64(ur, scratch);
        if (threadIdx.x == 0)
        {
            partial[3 * chunk + 0] = uu;
            partial[3 * chunk + 1] = rr;
            partial[3 * chunk + 2] = ur;
        }
    }
}

static __device__ void segment_sums(const double* partial, const int* seg_first_chunk, int s, double* uu, double* rr, double* ur)
{
    double a = 0.0, b = 0.0, c = 0.0;
    for (int k = seg_first_chunk[s]; k < seg_first_chunk[s + 1]; k++)
    {
        a += partial[3 * k + 0];
        b += partial[3 * k + 1];
        c += partial[3 * k + 2];
    }
    *uu = a;
    *rr = b;
    *ur = c;
}

static __device__ double clip_scale(double total_norm, float max_norm)
{
    if (max_norm <= 0.0f) return 1.0;
    double coef = (double)max_norm / (total_norm + 1e-6);
    return coef < 1.0 ? coef : 1.0;
}

// Launch with exactly one block of SURGERY_THREADS threads. coef [nseg, 2] = (a, b).
extern "C" __global__ void surgery_coefficients(float* coef, float* stats, const double* partial, const int* seg_first_chunk,
                                                int nseg, float lambda, float max_norm, int rule)
{
    __shared__ double scratch[SURGERY_THREADS / 32];
    __shared__ double scales[2];

    // Global norms: each thread adds its segments in a fixed order, then a fixed tree over the threads.
    double uu_all = 0.0, rr_all = 0.0;
    for (int s = threadIdx.x; s < nseg; s += blockDim.x)
    {
        double uu, rr, ur;
        segment_sums(partial, seg_first_chunk, s, &uu, &rr, &ur);
        uu_all += uu;
        rr_all += rr;
    }
    uu_all = block_sum_f64(uu_all, scratch);
    rr_all = block_sum_f64(rr_all, scratch);
    if (threadIdx.x == 0)
    {
        double norm_u = sqrt(uu_all), norm_r = sqrt(rr_all);
        scales[0] = clip_scale(norm_u, max_norm);
        scales[1] = clip_scale(norm_r, max_norm);
        stats[4 * nseg + 0] = (float)norm_u;
        stats[4 * nseg + 1] = (float)norm_r;
        stats[4 * nseg + 2] = (float)scales[0];
        stats[4 * nseg + 3] = (float)scales[1];
    }
    __syncthreads();
    double su = scales[0], sr = scales[1];

    for (int s = threadIdx.x; s < nseg; s += blockDim.x)
    {
        double uu, rr, ur;
        segment_sums(partial, seg_first_chunk, s, &uu, &rr, &ur);
        double norm_u = su * sqrt(uu), norm_r = sr * sqrt(rr); // norms of the clipped gradients
        double dot = su * sr * ur;                              // ⟨g_u,c, g_r,c⟩
        double cos, b = 0.0;
        int fired;
        if (rule == 0)
        {
            cos = dot / ((norm_u + 1e-8) * (norm_r + 1e-8));
            fired = cos < 0.0;
            if (fired) b = -(double)lambda * cos * sr / (norm_r + 1e-8);
        }
        else
        {
            cos = norm_u > 0.0 && norm_r > 0.0 ? dot / (norm_u * norm_r) : 0.0;
            fired = dot < 0.0; // implies ‖g_r,c‖ > 0
            if (fired) b = -(double)lambda * dot / (norm_r * norm_r) * sr;
        }
        coef[2 * s + 0] = (float)su;
        coef[2 * s + 1] = (float)b;
        stats[4 * s + 0] = (float)cos;
        stats[4 * s + 1] = (float)fired;
        stats[4 * s + 2] = (float)norm_u;
        stats[4 * s + 3] = (float)norm_r;
    }
}

// chunk_segment [nchunks]: the segment of each chunk. g_u ← a·g_u + b·g_r with one rounding (fmaf).
extern "C" __global__ void surgery_apply(float* gu, const float* gr, const float* coef,
                                         const long long* chunk_begin, const long long* chunk_end, const int* chunk_segment, int nchunks)
{
    for (int chunk = blockIdx.x; chunk < nchunks; chunk += gridDim.x)
    {
        float a = coef[2 * chunk_segment[chunk] + 0], b = coef[2 * chunk_segment[chunk] + 1];
        for (long long i = chunk_begin[chunk] + threadIdx.x; i < chunk_end[chunk]; i += blockDim.x)
            gu[i] = fmaf(b, gr[i], a * gu[i]);
    }
}
