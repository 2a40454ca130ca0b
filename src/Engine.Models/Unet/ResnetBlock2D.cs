using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers ResnetBlock2D: h = conv1(silu(norm1(x))) + time_emb_proj(silu(emb)); h = conv2(silu(norm2(h)));
/// out = shortcut(x) + h, the shortcut a 1×1 conv when the channel count changes.
/// silu(emb) is computed once per step by the UNet and shared by every block.
/// </summary>
public sealed class ResnetBlock2D
{
    private readonly GroupNorm _norm1, _norm2;
    private readonly Conv2d _conv1, _conv2;
    private readonly Conv2d? _shortcut;
    private readonly Linear _timeEmbProj;
    private Tensor _x, _n1, _m1, _r1, _a1, _h1, _n2, _m2, _r2, _a2, _embSilu;

    public ResnetBlock2D(ParameterStore p, string name, int groups, float eps, bool hasShortcut)
    {
        _norm1 = new GroupNorm(p, name + ".norm1", groups, eps);
        _norm2 = new GroupNorm(p, name + ".norm2", groups, eps);
        _conv1 = new Conv2d(p, name + ".conv1");
        _conv2 = new Conv2d(p, name + ".conv2");
        _timeEmbProj = new Linear(p, name + ".time_emb_proj");
        _shortcut = hasShortcut ? new Conv2d(p, name + ".conv_shortcut") : null;
    }

    public static void Declare(List<(string, Shape)> d, string name, int cin, int cout, int timeDim)
    {
        GroupNorm.Declare(d, name + ".norm1", cin);
        Conv2d.Declare(d, name + ".conv1", cin, cout, 3);
        Linear.Declare(d, name + ".time_emb_proj", timeDim, cout);
        GroupNorm.Declare(d, name + ".norm2", cout);
        Conv2d.Declare(d, name + ".conv2", cout, cout, 3);
        if (cin != cout) Conv2d.Declare(d, name + ".conv_shortcut", cin, cout, 1);
    }

    public Tensor Forward(Workspace w, Tensor x, Tensor embSilu)
    {
        var ops = w.Ops;
        _x = x;
        _embSilu = embSilu;
        (_n1, _m1, _r1) = w.Norm(_norm1, x);
        _a1 = w.Act(x.Shape);
        ops.SiluForward(_a1, _n1);
        _h1 = w.Act(_conv1.OutputShape(_a1));
        _conv1.Forward(ops, _h1, _a1);
        var t = w.Act(new Shape(x.Dim(0), _timeEmbProj.Out));
        _timeEmbProj.Forward(ops, t, embSilu);
        ops.AddChannelBias(_h1, t);
        (_n2, _m2, _r2) = w.Norm(_norm2, _h1);
        _a2 = w.Act(_h1.Shape);
        ops.SiluForward(_a2, _n2);
        var y = w.Act(_h1.Shape);
        _conv2.Forward(ops, y, _a2);
        if (_shortcut is null)
        {
            ops.Add(y, y, x);
        }
        else
        {
            var s = w.Act(y.Shape);
            _shortcut.Forward(ops, s, x);
            ops.Add(y, y, s);
        }
        return y;
    }

    /// <summary>Returns dx from the gradient arena; d(silu(emb)) is added into <paramref name="dEmbSilu"/> (None skips it).</summary>
    public Tensor Backward(Workspace w, Tensor dy, Tensor dEmbSilu)
    {
        var ops = w.Ops;
        var dx = w.Grad(_x.Shape);
        var mark = w.Gradients.Mark();
        var da2 = w.Grad(_a2.Shape);
        _conv2.Backward(ops, da2, dy, _a2);
        var dn2 = w.Grad(_n2.Shape);
        ops.SiluBackward(dn2, da2, _n2);
        var dh1 = w.Grad(_h1.Shape);
        _norm2.Backward(ops, dh1, dn2, _h1, _m2, _r2);
        var dt = w.Grad(new Shape(_x.Dim(0), _timeEmbProj.Out));
        ops.AddChannelBiasBackward(dt, dh1);
        var dembTmp = dEmbSilu.IsNone ? Tensor.None : w.Grad(_embSilu.Shape);
        _timeEmbProj.Backward(ops, dembTmp, dt, _embSilu);
        if (!dEmbSilu.IsNone) ops.Add(dEmbSilu, dEmbSilu, dembTmp);
        var da1 = w.Grad(_a1.Shape);
        _conv1.Backward(ops, da1, dh1, _a1);
        var dn1 = w.Grad(_n1.Shape);
        ops.SiluBackward(dn1, da1, _n1);
        _norm1.Backward(ops, dx, dn1, _x, _m1, _r1);
        if (_shortcut is null)
        {
            ops.Add(dx, dx, dy);
        }
        else
        {
            var ds = w.Grad(_x.Shape);
            _shortcut.Backward(ops, ds, dy, _x);
            ops.Add(dx, dx, ds);
        }
        w.Gradients.Release(mark);
        return dx;
    }
}
