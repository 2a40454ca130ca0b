// Fused Adam / AdamW step over flat buffers (param, grad, m, v of n elements), torch.optim's single-tensor
// formulas step for step, in the same float operations and order as CpuOps.AdamStep (so the emulator's
// results equal the CPU's bit for bit):
//   g ← g + l2·p                 (Adam with L2: l2 = wd; AdamW: l2 = 0)
//   p ← p·decay                  (AdamW: decay = 1 − lr·wd; Adam: decay = 1)
//   m ← m + (1 − β1)·(g − m)     (torch: exp_avg.lerp_(g, 1 − β1))
//   v ← v·β2 + ((1 − β2)·g)·g    (torch: exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2))
//   p ← p − step_size · m / (√v / bc2_sqrt + ε),   step_size = lr/(1 − β1^t), bc2_sqrt = √(1 − β2^t)
// The host computes the per-step scalars in double and rounds each to float once (AdamwKernels.AdamwStep).
// grad is read only. On a GPU, NVRTC may contract a·b + c into an FMA, so the last bit can differ there.

extern "C" __global__ void adamw_step(float* param, const float* grad, float* m, float* v, long long n,
                                      float decay, float l2, float one_minus_beta1, float beta2, float one_minus_beta2,
                                      float step_size, float bc2_sqrt, float eps)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        float p = param[i];
        float g = grad[i] + l2 * p;
        p = p * decay;
        float mi = m[i] + one_minus_beta1 * (g - m[i]);
        float vi = v[i] * beta2 + one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        param[i] = p - step_size * (mi / denom);
    }
}
