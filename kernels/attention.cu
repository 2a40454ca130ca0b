// Scaled-dot-product attention, FlashAttention-style: online softmax in the forward (no [Tq, Tk] matrix is ever
// stored; the row's logsumexp is saved) and recomputation from lse in the backward. Same layout and formulas as
// CpuOps.Attention: q, o [B, Tq, H, D], k, v [B, Tk, H, D] (what to_q/to_k/to_v produce), lse and delta [B, H, Tq];
// causal masks key j > query i (Tq == Tk).
//   forward:   s_ij = scale·q_i·k_j,  lse_i = log Σ_j e^{s_ij},  o_i = Σ_j e^{s_ij − lse_i}·v_j
//   backward:  P_ij = e^{s_ij − lse_i},  D_i = dO_i·O_i,  dS_ij = P_ij·(dO_i·v_j − D_i)
//              dq_i = scale·Σ_j dS_ij·k_j,  dk_j = scale·Σ_i dS_ij·q_i,  dv_j = Σ_i P_ij·dO_i
// One warp per row (query row for o, delta and dq; key row for dk and dv), ATT_WARPS rows per block; lane l holds
// the head dims l, l + 32, ... (head dims up to 32·ATT_MAX_PER_LANE = 160: SD's 40, 80, 160 and CLIP's 64).
// Every sum has one fixed order (keys or queries in order, dot products in a fixed xor-shuffle tree), and each
// output row is written by exactly one warp: deterministic, no atomics. K/V rows are read straight from global
// memory (L2-resident at SD's sizes); staging key tiles in shared memory is the obvious next speed-up.

#define ATT_WARPS 4
#define ATT_MAX_PER_LANE 5
#define ATT_NEG_BIG (-3.0e38f)

// Σ v over the warp, returned to every lane (xor butterfly: a fixed order).
static __device__ __forceinline__ float att_warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Loads this lane's head dims of one row (zeros past D).
static __device__ __forceinline__ void att_load(float* r, const float* row, int lane, int D)
{
    for (int t = 0; t < ATT_MAX_PER_LANE; t++)
    {
        int d = lane + 32 * t;
        r[t] = d < D ? row[d] : 0.0f;
    }
}

// row · r over the warp (this lane's share is r[t]·row[lane + 32t]).
static __device__ __forceinline__ float att_dot(const float* r, const float* row, int lane, int D)
{
    float s = 0.0f;
    for (int t = 0; t < ATT_MAX_PER_LANE; t++)
    {
        int d = lane + 32 * t;
        if (d < D) s += r[t] * row[d];
    }
    return att_warp_sum(s);
}

extern "C" __global__ void attention_forward(float* o, float* lse, const float* q, const float* k, const float* v,
                                             int B, int Tq, int Tk, int H, int D, int causal, float scale)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int b = blockIdx.y / H, h = blockIdx.y % H;
    int i = blockIdx.x * ATT_WARPS + warp;
    if (b >= B || i >= Tq) return; // the whole warp leaves together; no block barrier follows
    long long rowStride = (long long)H * D;
    const float* kb = k + (long long)b * Tk * rowStride + h * D;
    const float* vb = v + (long long)b * Tk * rowStride + h * D;
    long long qo = ((long long)b * Tq + i) * rowStride + h * D;

    float qr[ATT_MAX_PER_LANE], acc[ATT_MAX_PER_LANE];
    att_load(qr, q + qo, lane, D);
    for (int t = 0; t < ATT_MAX_PER_LANE; t++) acc[t] = 0.0f;

    // Online softmax: m is the running max, l the running Σ e^{s − m}; acc is rescaled when m grows.
    float m = ATT_NEG_BIG, l = 0.0f;
    int keys = causal ? i + 1 : Tk;
    for (int j = 0; j < keys; j++)
    {
        const float* vj = vb + j * rowStride;
        float s = att_dot(qr, kb + j * rowStride, lane, D) * scale;
        float mNew = fmaxf(m, s);
        float correction = expf(m - mNew), p = expf(s - mNew);
        l = l * correction + p;
        for (int t = 0; t < ATT_MAX_PER_LANE; t++)
        {
            int d = lane + 32 * t;
            if (d < D) acc[t] = acc[t] * correction + p * vj[d];
        }
        m = mNew;
    }
    for (int t = 0; t < ATT_MAX_PER_LANE; t++)
    {
        int d = lane + 32 * t;
        if (d < D) o[qo + d] = acc[t] / l;
    }
    if (lane == 0) lse[((long long)b * H + h) * Tq + i] = m + logf(l);
}

// delta [B, H, Tq]: D_i = dO_i·O_i, the row term of dS.
extern "C" __global__ void attention_backward_delta(float* delta, const float* dout, const float* o, int B, int Tq, int H, int D)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int b = blockIdx.y / H, h = blockIdx.y % H;
    int i = blockIdx.x * ATT_WARPS + warp;
    if (b >= B || i >= Tq) return;
    long long qo = ((long long)b * Tq + i) * H * D + h * D;
    float r[ATT_MAX_PER_LANE];
    att_load(r, dout + qo, lane, D);
    float di = att_dot(r, o + qo, lane, D);
    if (lane == 0) delta[((long long)b * H + h) * Tq + i] = di;
}

// dq, one warp per query row: keys in order.
extern "C" __global__ void attention_backward_dq(float* dq, const float* dout, const float* q, const float* k, const float* v,
                                                 const float* lse, const float* delta, int B, int Tq, int Tk, int H, int D,
                                                 int causal, float scale)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int b = blockIdx.y / H, h = blockIdx.y % H;
    int i = blockIdx.x * ATT_WARPS + warp;
    if (b >= B || i >= Tq) return;
    long long rowStride = (long long)H * D;
    const float* kb = k + (long long)b * Tk * rowStride + h * D;
    const float* vb = v + (long long)b * Tk * rowStride + h * D;
    long long qo = ((long long)b * Tq + i) * rowStride + h * D;
    long long row = ((long long)b * H + h) * Tq + i;
    float L = lse[row], Di = delta[row];

    float qr[ATT_MAX_PER_LANE], dor[ATT_MAX_PER_LANE], acc[ATT_MAX_PER_LANE];
    att_load(qr, q + qo, lane, D);
    att_load(dor, dout + qo, lane, D);
    for (int t = 0; t < ATT_MAX_PER_LANE; t++) acc[t] = 0.0f;
    int keys = causal ? i + 1 : Tk;
    for (int j = 0; j < keys; j++)
    {
        const float* kj = kb + j * rowStride;
        float p = expf(att_dot(qr, kj, lane, D) * scale - L);
        float ds = p * (att_dot(dor, vb + j * rowStride, lane, D) - Di);
        for (int t = 0; t < ATT_MAX_PER_LANE; t++)
        {
            int d = lane + 32 * t;
            if (d < D) acc[t] += ds * kj[d];
        }
    }
    for (int t = 0; t < ATT_MAX_PER_LANE; t++)
    {
        int d = lane + 32 * t;
        if (d < D) dq[qo + d] = scale * acc[t];
    }
}

// dk and dv, one warp per key row: queries in order. Either output may be null (not needed).
extern "C" __global__ void attention_backward_dkdv(float* dk, float* dv, const float* dout, const float* q, const float* k,
                                                   const float* v, const float* lse, const float* delta, int B, int Tq, int Tk,
                                                   int H, int D, int causal, float scale)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int b = blockIdx.y / H, h = blockIdx.y % H;
    int j = blockIdx.x * ATT_WARPS + warp;
    if (b >= B || j >= Tk) return;
    long long rowStride = (long long)H * D;
    const float* qb = q + (long long)b * Tq * rowStride + h * D;
    const float* dob = dout + (long long)b * Tq * rowStride + h * D;
    long long ko = ((long long)b * Tk + j) * rowStride + h * D;
    const float* lseb = lse + ((long long)b * H + h) * Tq;
    const float* deltab = delta + ((long long)b * H + h) * Tq;

    float kr[ATT_MAX_PER_LANE], vr[ATT_MAX_PER_LANE], dkAcc[ATT_MAX_PER_LANE], dvAcc[ATT_MAX_PER_LANE];
    att_load(kr, k + ko, lane, D);
    att_load(vr, v + ko, lane, D);
    for (int t = 0; t < ATT_MAX_PER_LANE; t++) { dkAcc[t] = 0.0f; dvAcc[t] = 0.0f; }
    for (int i = causal ? j : 0; i < Tq; i++)
    {
        const float* qi = qb + i * rowStride;
        const float* doi = dob + i * rowStride;
        float p = expf(att_dot(kr, qi, lane, D) * scale - lseb[i]);
        float ds = p * (att_dot(vr, doi, lane, D) - deltab[i]);
        for (int t = 0; t < ATT_MAX_PER_LANE; t++)
        {
            int d = lane + 32 * t;
            if (d < D)
            {
                dvAcc[t] += p * doi[d];
                dkAcc[t] += ds * qi[d];
            }
        }
    }
    for (int t = 0; t < ATT_MAX_PER_LANE; t++)
    {
        int d = lane + 32 * t;
        if (d >= D) continue;
        if (dk) dk[ko + d] = scale * dkAcc[t];
        if (dv) dv[ko + d] = dvAcc[t];
    }
}
