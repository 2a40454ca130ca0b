using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers Attention with the default processor: to_q, to_k, to_v without bias, to_out.0 with bias.
/// attn1 is self-attention (context = x); attn2 is cross-attention (context = the text states).
/// </summary>
public sealed class Attention
{
    private readonly Linear _q, _k, _v, _out;
    private readonly int _heads;
    private Tensor _x, _ctx, _qs, _ks, _vs, _o, _lse;
    private AttentionSpec _spec;
    private bool _self;

    /// <summary>
    /// Custom Diffusion's processor (doco-spec §1, §7.15): the keys and values of the first context token (BOS) are
    /// detached, so the backward zeroes dK and dV of token 0 before the weight-gradient GEMMs (and before the context
    /// gradient). The forward is unchanged. Only meaningful for cross-attention.
    /// </summary>
    public bool DetachFirstToken { get; set; }

    public string Name { get; }

    public Attention(ParameterStore p, string name, int heads)
    {
        Name = name;
        _q = new Linear(p, name + ".to_q", bias: false);
        _k = new Linear(p, name + ".to_k", bias: false);
        _v = new Linear(p, name + ".to_v", bias: false);
        _out = new Linear(p, name + ".to_out.0");
        _heads = heads;
    }

    public static void Declare(List<(string, Shape)> d, string name, int c, int contextDim)
    {
        Linear.Declare(d, name + ".to_q", c, c, bias: false);
        Linear.Declare(d, name + ".to_k", contextDim, c, bias: false);
        Linear.Declare(d, name + ".to_v", contextDim, c, bias: false);
        Linear.Declare(d, name + ".to_out.0", c, c);
    }

    /// <summary>x [N, Tq, C]; context [N, Tk, Cctx] or None for self-attention. Returns [N, Tq, C].</summary>
    public Tensor Forward(Workspace w, Tensor x, Tensor context)
    {
        var ops = w.Ops;
        _self = context.IsNone;
        _x = x;
        _ctx = _self ? x : context;
        int n = x.Dim(0), tq = x.Dim(1), c = _q.Out, tk = _ctx.Dim(1);
        _spec = new AttentionSpec(n, tq, tk, _heads, c / _heads);
        _qs = w.Act(new Shape(n, tq, c));
        _ks = w.Act(new Shape(n, tk, c));
        _vs = w.Act(new Shape(n, tk, c));
        _q.Forward(ops, _qs, x);
        _k.Forward(ops, _ks, _ctx);
        _v.Forward(ops, _vs, _ctx);
        _o = w.Act(new Shape(n, tq, c));
        _lse = w.Act(_spec.LseShape);
        ops.AttentionForward(_o, _lse, _qs, _ks, _vs, _spec);
        var y = w.Act(new Shape(n, tq, c));
        _out.Forward(ops, y, _o);
        return y;
    }

    /// <summary>
    /// dx (overwritten) gets the gradient through the queries and, for self-attention, through the keys and
    /// values too. For cross-attention the context gradient is added into <paramref name="dcontext"/>
    /// when it is not None.
    /// </summary>
    public void Backward(Workspace w, Tensor dx, Tensor dcontext, Tensor dy)
    {
        var ops = w.Ops;
        var mark = w.Gradients.Mark();
        var dO = w.Grad(_o.Shape);
        _out.Backward(ops, dO, dy, _o);
        var dq = w.Grad(_qs.Shape);
        var dk = w.Grad(_ks.Shape);
        var dv = w.Grad(_vs.Shape);
        ops.AttentionBackward(dq, dk, dv, dO, _qs, _ks, _vs, _o, _lse, _spec);
        if (DetachFirstToken && !_self)
        {
            int c = _ks.Dim(2);
            for (int b = 0; b < _spec.B; b++)
            {
                ops.Fill(dk.Slice((long)b * _spec.Tk * c, c), 0f);
                ops.Fill(dv.Slice((long)b * _spec.Tk * c, c), 0f);
            }
        }
        _q.Backward(ops, dx, dq, _x);
        bool contextGrad = _self || !dcontext.IsNone;
        var tmp = contextGrad ? w.Grad(_ctx.Shape) : Tensor.None;
        var acc = _self ? dx : dcontext;
        _k.Backward(ops, tmp, dk, _ctx);
        if (contextGrad) ops.Add(acc, acc, tmp);
        _v.Backward(ops, tmp, dv, _ctx);
        if (contextGrad) ops.Add(acc, acc, tmp);
        w.Gradients.Release(mark);
    }
}
