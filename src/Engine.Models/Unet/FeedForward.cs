using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>diffusers FeedForward with GEGLU: ff.net.0.proj (C → 8C), GEGLU (→ 4C), ff.net.2 (→ C).</summary>
public sealed class FeedForward(ParameterStore p, string name)
{
    private readonly Linear _proj = new(p, name + ".net.0.proj");
    private readonly Linear _out = new(p, name + ".net.2");
    private Tensor _x, _p, _g;

    public static void Declare(List<(string, Shape)> d, string name, int c)
    {
        Linear.Declare(d, name + ".net.0.proj", c, 8 * c);
        Linear.Declare(d, name + ".net.2", 4 * c, c);
    }

    public Tensor Forward(Workspace w, Tensor x)
    {
        int rows = (int)(x.Numel / _proj.In);
        _x = x;
        _p = w.Act(new Shape(rows, _proj.Out));
        _proj.Forward(w.Ops, _p, x);
        _g = w.Act(new Shape(rows, _proj.Out / 2));
        w.Ops.GegluForward(_g, _p);
        var y = w.Act(x.Shape);
        _out.Forward(w.Ops, y, _g);
        return y;
    }

    public void Backward(Workspace w, Tensor dx, Tensor dy)
    {
        var mark = w.Gradients.Mark();
        var dg = w.Grad(_g.Shape);
        _out.Backward(w.Ops, dg, dy, _g);
        var dp = w.Grad(_p.Shape);
        w.Ops.GegluBackward(dp, dg, _p);
        _proj.Backward(w.Ops, dx, dp, _x);
        w.Gradients.Release(mark);
    }
}
