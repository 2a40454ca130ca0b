using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>y = x·sigmoid(x).</summary>
    void SiluForward(Tensor y, Tensor x);

    void SiluBackward(Tensor dx, Tensor dy, Tensor x);

    /// <summary>Exact GELU: y = x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    void GeluForward(Tensor y, Tensor x);

    void GeluBackward(Tensor dx, Tensor dy, Tensor x);

    /// <summary>CLIP's quick GELU: y = x·sigmoid(1.702x).</summary>
    void QuickGeluForward(Tensor y, Tensor x);

    void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x);

    /// <summary>
    /// diffusers GEGLU after its projection: x [..., 2C] splits into (hidden, gate) along the last
    /// dimension, y [..., C] = hidden · gelu(gate) (exact GELU). Backward writes both halves of dx.
    /// </summary>
    void GegluForward(Tensor y, Tensor x);

    void GegluBackward(Tensor dx, Tensor dy, Tensor x);

    /// <summary>y = x for x ≥ 0, slope·x otherwise.</summary>
    void LeakyReluForward(Tensor y, Tensor x, float slope);

    void LeakyReluBackward(Tensor dx, Tensor dy, Tensor x, float slope);

    /// <summary>y = min(max(x, lo), hi): the x̂0 clamp of a scheduler with clip_sample.</summary>
    void ClampForward(Tensor y, Tensor x, float lo, float hi);

    /// <summary>dx = dy where lo ≤ x ≤ hi, else 0 (torch.clamp's gradient: the bounds themselves pass it).</summary>
    void ClampBackward(Tensor dx, Tensor dy, Tensor x, float lo, float hi);
}
