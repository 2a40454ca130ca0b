using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Vae;

/// <summary>
/// diffusers ResnetBlock2D as the VAE uses it: temb is None, so there is no time_emb_proj.
/// out = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x)))))), every GroupNorm with eps 1e-6.
/// Forward only: the temporaries are released before returning, only the output stays in the arena.
/// </summary>
public sealed class VaeResnetBlock
{
    private readonly GroupNorm _norm1, _norm2;
    private readonly Conv2d _conv1, _conv2;
    private readonly Conv2d? _shortcut;

    public VaeResnetBlock(ParameterStore p, string name, int groups, bool hasShortcut)
    {
        _norm1 = new GroupNorm(p, name + ".norm1", groups, VaeConfig.NormEps);
        _norm2 = new GroupNorm(p, name + ".norm2", groups, VaeConfig.NormEps);
        _conv1 = new Conv2d(p, name + ".conv1");
        _conv2 = new Conv2d(p, name + ".conv2");
        _shortcut = hasShortcut ? new Conv2d(p, name + ".conv_shortcut") : null;
    }

    public static void Declare(List<(string, Shape)> d, string name, int cin, int cout)
    {
        GroupNorm.Declare(d, name + ".norm1", cin);
        Conv2d.Declare(d, name + ".conv1", cin, cout, 3);
        GroupNorm.Declare(d, name + ".norm2", cout);
        Conv2d.Declare(d, name + ".conv2", cout, cout, 3);
        if (cin != cout) Conv2d.Declare(d, name + ".conv_shortcut", cin, cout, 1);
    }

    public Tensor Forward(IOps ops, ITensorArena arena, Tensor x)
    {
        int n = x.Dim(0), h = x.Dim(2), w = x.Dim(3), cout = _conv2.OutChannels;
        var y = arena.Alloc(new Shape(n, cout, h, w), zero: false);
        var mark = arena.Mark();
        var a1 = NormSilu(ops, arena, _norm1, x);
        var h1 = arena.Alloc(_conv1.OutputShape(a1), zero: false);
        _conv1.Forward(ops, h1, a1);
        var a2 = NormSilu(ops, arena, _norm2, h1);
        _conv2.Forward(ops, y, a2);
        if (_shortcut is null)
        {
            ops.Add(y, y, x);
        }
        else
        {
            var s = arena.Alloc(y.Shape, zero: false);
            _shortcut.Forward(ops, s, x);
            ops.Add(y, y, s);
        }
        arena.Release(mark);
        return y;
    }

    /// <summary>silu(norm(x)), the statistics thrown away (nothing runs backward here).</summary>
    internal static Tensor NormSilu(IOps ops, ITensorArena arena, GroupNorm norm, Tensor x)
    {
        var y = arena.Alloc(x.Shape, zero: false);
        var mean = arena.Alloc(norm.StatShape(x), zero: false);
        var rstd = arena.Alloc(norm.StatShape(x), zero: false);
        norm.Forward(ops, y, mean, rstd, x);
        ops.SiluForward(y, y);
        return y;
    }
}
