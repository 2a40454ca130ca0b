using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// Adam hyper-parameters. Decoupled = AdamW (p -= lr·wd·p before the Adam update, as torch.optim.AdamW);
/// otherwise Adam with L2 (g += wd·p, as torch.optim.Adam).
/// </summary>
public readonly record struct AdamSpec(float LearningRate, float Beta1 = 0.9f, float Beta2 = 0.999f, float Eps = 1e-8f, float WeightDecay = 0f, bool Decoupled = true);

public partial interface IOps
{
    /// <summary>
    /// One Adam/AdamW step over flat buffers of equal size: param, grad, m, v. <paramref name="step"/> is
    /// 1-based (bias correction uses β^step). grad is read only.
    /// </summary>
    void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamSpec spec, int step);
}
