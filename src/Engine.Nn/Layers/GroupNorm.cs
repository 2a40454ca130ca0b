using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn.Layers;

/// <summary>nn.GroupNorm with affine weight and bias [C]; mean and rstd [N, groups] travel with the caller.</summary>
public sealed class GroupNorm
{
    public readonly Tensor Weight, Bias, dWeight, dBias;
    public readonly int Groups;
    public readonly float Eps;

    public GroupNorm(ParameterStore store, string name, int groups, float eps)
    {
        Weight = store.Weight(name + ".weight");
        Bias = store.Weight(name + ".bias");
        dWeight = store.Grad(name + ".weight");
        dBias = store.Grad(name + ".bias");
        Groups = groups;
        Eps = eps;
        if (Weight.Dim(0) % groups != 0)
            throw new ArgumentException($"{name}: {Weight.Dim(0)} channels are not divisible into {groups} groups");
    }

    public static void Declare(List<(string, Shape)> into, string name, int c) => LayerNorm.Declare(into, name, c);

    public Shape StatShape(Tensor x) => new(x.Dim(0), Groups);

    public void Forward(IOps ops, Tensor y, Tensor mean, Tensor rstd, Tensor x) =>
        ops.GroupNormForward(y, mean, rstd, x, Weight, Bias, Groups, Eps);

    public void Backward(IOps ops, Tensor dx, Tensor dy, Tensor x, Tensor mean, Tensor rstd) =>
        ops.GroupNormBackward(dx, dWeight, dBias, dy, x, mean, rstd, Weight, Groups);
}
