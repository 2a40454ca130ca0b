using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>Downsample2D: a 3×3 convolution with stride 2 and padding 1.</summary>
public sealed class Downsample2D(ParameterStore p, string name)
{
    private readonly Conv2d _conv = new(p, name + ".conv", stride: 2, padding: 1);
    private Tensor _x;

    public static void Declare(List<(string, Shape)> d, string name, int c) => Conv2d.Declare(d, name + ".conv", c, c, 3);

    public Tensor Forward(Workspace w, Tensor x)
    {
        _x = x;
        var y = w.Act(_conv.OutputShape(x));
        _conv.Forward(w.Ops, y, x);
        return y;
    }

    public Tensor Backward(Workspace w, Tensor dy)
    {
        var dx = w.Grad(_x.Shape);
        _conv.Backward(w.Ops, dx, dy, _x);
        return dx;
    }
}

/// <summary>Upsample2D: nearest-neighbour ×2, then a 3×3 convolution with padding 1.</summary>
public sealed class Upsample2D(ParameterStore p, string name)
{
    private readonly Conv2d _conv = new(p, name + ".conv");
    private Tensor _x, _up;

    public static void Declare(List<(string, Shape)> d, string name, int c) => Conv2d.Declare(d, name + ".conv", c, c, 3);

    public Tensor Forward(Workspace w, Tensor x)
    {
        _x = x;
        _up = w.Act(new Shape(x.Dim(0), x.Dim(1), 2 * x.Dim(2), 2 * x.Dim(3)));
        w.Ops.Upsample2xForward(_up, x);
        var y = w.Act(_conv.OutputShape(_up));
        _conv.Forward(w.Ops, y, _up);
        return y;
    }

    public Tensor Backward(Workspace w, Tensor dy)
    {
        var dx = w.Grad(_x.Shape);
        var mark = w.Gradients.Mark();
        var dup = w.Grad(_up.Shape);
        _conv.Backward(w.Ops, dup, dy, _up);
        w.Ops.Upsample2xBackward(dx, dup);
        w.Gradients.Release(mark);
        return dx;
    }
}
