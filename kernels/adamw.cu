// Fused Adam / AdamW step over flat buffers (param, grad, m, v of n elements), PyTorch's formulas
// (torch.optim.AdamW / torch.optim.Adam, single-tensor path, amsgrad off, maximize off):
//   decoupled (AdamW): p ← p·(1 − lr·wd)           else (Adam + L2): g ← g + wd·p
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// The host computes step_size = lr/(1 − β1^t) and bc2_sqrt = √(1 − β2^t) in double once per step.
// grad is read only.

extern "C" __global__ void adamw_step(float* param, const float* grad, float* m, float* v, long long n,
                                      float lr, float beta1, float beta2, float eps, float weight_decay,
                                      int decoupled, float step_size, float bc2_sqrt)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        float p = param[i], g = grad[i];
        if (decoupled) p = p * (1.0f - lr * weight_decay);
        else g = g + weight_decay * p;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        param[i] = p - step_size * (mi / denom);
    }
}
