using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn.Layers;

/// <summary>
/// nn.Linear: y [rows, out] = x [rows, in] · weightᵀ + bias, weight [out, in] as in PyTorch checkpoints.
/// </summary>
public sealed class Linear
{
    public readonly Tensor Weight, Bias, dWeight, dBias;
    public readonly int In, Out;

    public Linear(ParameterStore store, string name, bool bias = true)
    {
        Weight = store.Weight(name + ".weight");
        dWeight = store.Grad(name + ".weight");
        Bias = bias ? store.Weight(name + ".bias") : Tensor.None;
        dBias = bias ? store.Grad(name + ".bias") : Tensor.None;
        Out = Weight.Dim(0);
        In = Weight.Dim(1);
    }

    public static void Declare(List<(string, Shape)> into, string name, int inFeatures, int outFeatures, bool bias = true)
    {
        into.Add((name + ".weight", new Shape(outFeatures, inFeatures)));
        if (bias) into.Add((name + ".bias", new Shape(outFeatures)));
    }

    public void Forward(IOps ops, Tensor y, Tensor x)
    {
        int rows = Rows(x, In, "x");
        Check.Numel(y, (long)rows * Out, "y");
        ops.Gemm(y, x, Weight, GemmSpec.Dense(rows, Out, In, transB: true));
        if (!Bias.IsNone) ops.AddRowBias(y.View(rows, Out), Bias);
    }

    /// <summary>dx = dy · weight (overwritten; None skips it); dweight += dyᵀ · x; dbias += Σ dy.</summary>
    public void Backward(IOps ops, Tensor dx, Tensor dy, Tensor x)
    {
        int rows = Rows(x, In, "x");
        Check.Numel(dy, (long)rows * Out, "dy");
        if (!dx.IsNone) ops.Gemm(dx, dy, Weight, GemmSpec.Dense(rows, In, Out));
        if (!dWeight.IsNone) ops.Gemm(dWeight, dy, x, GemmSpec.Dense(Out, In, rows, transA: true, beta: 1f));
        if (!dBias.IsNone) ops.AddRowBiasBackward(dBias, dy.View(rows, Out));
    }

    private static int Rows(Tensor x, int features, string name)
    {
        if (x.Numel % features != 0) throw new ArgumentException($"{name} {x.Shape} is not a whole number of rows of {features} features");
        return (int)(x.Numel / features);
    }
}
