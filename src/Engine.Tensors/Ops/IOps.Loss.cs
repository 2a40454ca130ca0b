using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>loss [1] = mean((x - target)²).</summary>
    void MseForward(Tensor loss, Tensor x, Tensor target);

    /// <summary>dx = dloss · 2(x - target)/n (overwritten).</summary>
    void MseBackward(Tensor dx, Tensor x, Tensor target, float dloss);

    /// <summary>loss [1] = mean(max(z,0) - z·t + log(1 + e^{-|z|})), the stable form of BCE on logits z.</summary>
    void BceWithLogitsForward(Tensor loss, Tensor logits, Tensor target);

    /// <summary>dlogits = dloss · (sigmoid(z) - t)/n (overwritten).</summary>
    void BceWithLogitsBackward(Tensor dlogits, Tensor logits, Tensor target, float dloss);
}
