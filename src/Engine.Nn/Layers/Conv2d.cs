using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn.Layers;

/// <summary>
/// nn.Conv2d with bias: weight [K, C, R, S], square kernel, same stride and padding both ways.
/// Like every layer here it holds parameters only; the block that uses it keeps the activations.
/// </summary>
public sealed class Conv2d
{
    public readonly Tensor Weight, Bias, dWeight, dBias;
    public readonly int InChannels, OutChannels, Kernel, Stride, Padding;

    public Conv2d(ParameterStore store, string name, int stride = 1, int padding = -1)
    {
        Weight = store.Weight(name + ".weight");
        dWeight = store.Grad(name + ".weight");
        Bias = store.Weight(name + ".bias");
        dBias = store.Grad(name + ".bias");
        OutChannels = Weight.Dim(0);
        InChannels = Weight.Dim(1);
        Kernel = Weight.Dim(2);
        Stride = stride;
        Padding = padding >= 0 ? padding : Kernel / 2;
    }

    public static void Declare(List<(string, Shape)> into, string name, int inChannels, int outChannels, int kernel)
    {
        into.Add((name + ".weight", new Shape(outChannels, inChannels, kernel, kernel)));
        into.Add((name + ".bias", new Shape(outChannels)));
    }

    public Conv2dSpec Spec(Tensor x)
    {
        if (x.Rank != 4 || x.Dim(1) != InChannels)
            throw new ArgumentException($"conv input {x.Shape} must be [N, {InChannels}, H, W]");
        return Conv2dSpec.Square(x.Dim(0), InChannels, x.Dim(2), x.Dim(3), OutChannels, Kernel, Stride, Padding);
    }

    public Shape OutputShape(Tensor x) => Spec(x).YShape;

    public void Forward(IOps ops, Tensor y, Tensor x) => ops.Conv2dForward(y, x, Weight, Bias, Spec(x));

    /// <summary>dx overwritten (None skips it); weight and bias gradients accumulate when trainable.</summary>
    public void Backward(IOps ops, Tensor dx, Tensor dy, Tensor x) => ops.Conv2dBackward(dx, dWeight, dBias, dy, x, Weight, Spec(x));
}
