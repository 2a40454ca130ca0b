using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>y [rows, C] += bias [C] on every row (a Linear layer's bias).</summary>
    void AddRowBias(Tensor y, Tensor bias);

    /// <summary>dbias [C] += Σ over rows of dy [rows, C] (accumulated: dbias is a parameter gradient).</summary>
    void AddRowBiasBackward(Tensor dbias, Tensor dy);

    /// <summary>y [N, C, *] += b [N, C] at every spatial position (a ResNet block's time embedding).</summary>
    void AddChannelBias(Tensor y, Tensor b);

    /// <summary>db [N, C] = Σ over spatial positions of dy [N, C, *] (overwritten: b is an activation).</summary>
    void AddChannelBiasBackward(Tensor db, Tensor dy);
}
