using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers BasicTransformerBlock on tokens h [N, T, C]:
/// h += attn1(norm1(h)); h += attn2(norm2(h), context); h += ff(norm3(h)).
/// </summary>
public sealed class BasicTransformerBlock
{
    private readonly LayerNorm _norm1, _norm2, _norm3;
    private readonly Attention _attn1, _attn2;
    private readonly FeedForward _ff;
    private Tensor _h0, _h1, _h2, _n1, _n2, _n3, _m1, _r1, _m2, _r2, _m3, _r3;

    /// <summary>attn2, the cross-attention over the text states.</summary>
    public Attention CrossAttention => _attn2;

    public BasicTransformerBlock(ParameterStore p, string name, int heads)
    {
        _norm1 = new LayerNorm(p, name + ".norm1", 1e-5f);
        _norm2 = new LayerNorm(p, name + ".norm2", 1e-5f);
        _norm3 = new LayerNorm(p, name + ".norm3", 1e-5f);
        _attn1 = new Attention(p, name + ".attn1", heads);
        _attn2 = new Attention(p, name + ".attn2", heads);
        _ff = new FeedForward(p, name + ".ff");
    }

    public static void Declare(List<(string, Shape)> d, string name, int c, int contextDim)
    {
        LayerNorm.Declare(d, name + ".norm1", c);
        Attention.Declare(d, name + ".attn1", c, c);
        LayerNorm.Declare(d, name + ".norm2", c);
        Attention.Declare(d, name + ".attn2", c, contextDim);
        LayerNorm.Declare(d, name + ".norm3", c);
        FeedForward.Declare(d, name + ".ff", c);
    }

    public Tensor Forward(Workspace w, Tensor h, Tensor context)
    {
        var ops = w.Ops;
        _h0 = h;
        (_n1, _m1, _r1) = w.Norm(_norm1, h);
        _h1 = _attn1.Forward(w, _n1, Tensor.None);
        ops.Add(_h1, _h1, h);
        (_n2, _m2, _r2) = w.Norm(_norm2, _h1);
        _h2 = _attn2.Forward(w, _n2, context);
        ops.Add(_h2, _h2, _h1);
        (_n3, _m3, _r3) = w.Norm(_norm3, _h2);
        var h3 = _ff.Forward(w, _n3);
        ops.Add(h3, h3, _h2);
        return h3;
    }

    /// <summary>Returns d(input tokens), allocated from the gradient arena; the context gradient is added into dcontext.</summary>
    public Tensor Backward(Workspace w, Tensor dy, Tensor dcontext)
    {
        var ops = w.Ops;
        var dres = w.Grad(dy.Shape);
        ops.Copy(dres, dy);
        var mark = w.Gradients.Mark();
        var dn = w.Grad(dy.Shape);
        var dtmp = w.Grad(dy.Shape);
        _ff.Backward(w, dn, dres);
        _norm3.Backward(ops, dtmp, dn, _h2, _m3, _r3);
        ops.Add(dres, dres, dtmp);
        _attn2.Backward(w, dn, dcontext, dres);
        _norm2.Backward(ops, dtmp, dn, _h1, _m2, _r2);
        ops.Add(dres, dres, dtmp);
        _attn1.Backward(w, dn, Tensor.None, dres);
        _norm1.Backward(ops, dtmp, dn, _h0, _m1, _r1);
        ops.Add(dres, dres, dtmp);
        w.Gradients.Release(mark);
        return dres;
    }
}
