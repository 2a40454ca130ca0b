using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn.Layers;

/// <summary>nn.LayerNorm over the last dimension, with affine weight and bias [C].</summary>
public sealed class LayerNorm
{
    public readonly Tensor Weight, Bias, dWeight, dBias;
    public readonly int C;
    public readonly float Eps;

    public LayerNorm(ParameterStore store, string name, float eps)
    {
        Weight = store.Weight(name + ".weight");
        Bias = store.Weight(name + ".bias");
        dWeight = store.Grad(name + ".weight");
        dBias = store.Grad(name + ".bias");
        C = Weight.Dim(0);
        Eps = eps;
    }

    public static void Declare(List<(string, Shape)> into, string name, int c)
    {
        into.Add((name + ".weight", new Shape(c)));
        into.Add((name + ".bias", new Shape(c)));
    }

    /// <summary>x, y [rows, C]; mean, rstd [rows] are saved for the backward.</summary>
    public void Forward(IOps ops, Tensor y, Tensor mean, Tensor rstd, Tensor x) =>
        ops.LayerNormForward(y.View(Rows(x), C), mean, rstd, x.View(Rows(x), C), Weight, Bias, Eps);

    public void Backward(IOps ops, Tensor dx, Tensor dy, Tensor x, Tensor mean, Tensor rstd) =>
        ops.LayerNormBackward(dx.View(Rows(x), C), dWeight, dBias, dy.View(Rows(x), C), x.View(Rows(x), C), mean, rstd, Weight);

    private int Rows(Tensor x) => (int)(x.Numel / C);
}
