using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Vae;

/// <summary>Upsample2D of the VAE decoder, forward only: nearest-neighbour ×2, then a 3×3 convolution.</summary>
public sealed class VaeUpsample(ParameterStore p, string name)
{
    private readonly Conv2d _conv = new(p, name + ".conv");

    public static void Declare(List<(string, Shape)> d, string name, int c) => Conv2d.Declare(d, name + ".conv", c, c, 3);

    public Tensor Forward(IOps ops, ITensorArena arena, Tensor x)
    {
        var y = arena.Alloc(new Shape(x.Dim(0), _conv.OutChannels, 2 * x.Dim(2), 2 * x.Dim(3)), zero: false);
        var mark = arena.Mark();
        var up = arena.Alloc(new Shape(x.Dim(0), x.Dim(1), 2 * x.Dim(2), 2 * x.Dim(3)), zero: false);
        ops.Upsample2xForward(up, x);
        _conv.Forward(ops, y, up);
        arena.Release(mark);
        return y;
    }
}
