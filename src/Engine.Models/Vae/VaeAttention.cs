using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Vae;

/// <summary>
/// The VAE mid-block attention (diffusers Attention built from the deprecated AttentionBlock): GroupNorm
/// (eps 1e-6), NCHW → tokens [N, H·W, C], single-head self-attention with biased q/k/v/out projections
/// (scale 1/√C), back to NCHW, plus the input as residual (rescale_output_factor 1).
/// Parameter names are the current ones (to_q, to_k, to_v, to_out.0); the loader maps the legacy
/// query/key/value/proj_attn names onto them (<see cref="AutoencoderKLDecoder.ParameterName"/>).
/// </summary>
public sealed class VaeAttention
{
    private readonly GroupNorm _norm;
    private readonly Linear _q, _k, _v, _out;

    public VaeAttention(ParameterStore p, string name, int groups)
    {
        _norm = new GroupNorm(p, name + ".group_norm", groups, VaeConfig.NormEps);
        _q = new Linear(p, name + ".to_q");
        _k = new Linear(p, name + ".to_k");
        _v = new Linear(p, name + ".to_v");
        _out = new Linear(p, name + ".to_out.0");
    }

    public static void Declare(List<(string, Shape)> d, string name, int c)
    {
        GroupNorm.Declare(d, name + ".group_norm", c);
        Linear.Declare(d, name + ".to_q", c, c);
        Linear.Declare(d, name + ".to_k", c, c);
        Linear.Declare(d, name + ".to_v", c, c);
        Linear.Declare(d, name + ".to_out.0", c, c);
    }

    public Tensor Forward(IOps ops, ITensorArena arena, Tensor x)
    {
        int n = x.Dim(0), c = x.Dim(1), hw = x.Dim(2) * x.Dim(3);
        var y = arena.Alloc(x.Shape, zero: false);
        var mark = arena.Mark();
        var normed = arena.Alloc(x.Shape, zero: false);
        var mean = arena.Alloc(_norm.StatShape(x), zero: false);
        var rstd = arena.Alloc(_norm.StatShape(x), zero: false);
        _norm.Forward(ops, normed, mean, rstd, x);
        var tokens = arena.Alloc(new Shape(n, hw, c), zero: false);
        ops.Transpose(tokens, normed, n, c, hw);
        var spec = new AttentionSpec(n, hw, hw, 1, c);
        var q = arena.Alloc(tokens.Shape, zero: false);
        var k = arena.Alloc(tokens.Shape, zero: false);
        var v = arena.Alloc(tokens.Shape, zero: false);
        _q.Forward(ops, q, tokens);
        _k.Forward(ops, k, tokens);
        _v.Forward(ops, v, tokens);
        var o = arena.Alloc(tokens.Shape, zero: false);
        var lse = arena.Alloc(spec.LseShape, zero: false);
        ops.AttentionForward(o, lse, q, k, v, spec);
        // Reuse the query buffer for the projected output: q is dead once the attention has run.
        _out.Forward(ops, q, o);
        ops.Transpose(y, q, n, hw, c);
        ops.Add(y, y, x);
        arena.Release(mark);
        return y;
    }
}
