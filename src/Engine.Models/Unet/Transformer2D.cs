using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers Transformer2DModel for SD 1.x (use_linear_projection = false): GroupNorm (eps 1e-6),
/// 1×1 conv proj_in, NCHW → tokens [N, H·W, C], transformer blocks, back to NCHW, 1×1 conv proj_out,
/// plus the input as residual.
/// </summary>
public sealed class Transformer2D
{
    private readonly GroupNorm _norm;
    private readonly Conv2d _projIn, _projOut;
    private readonly BasicTransformerBlock[] _blocks;
    private Tensor _x, _n, _mean, _rstd, _pin, _back;

    public IReadOnlyList<BasicTransformerBlock> Blocks => _blocks;

    public Transformer2D(ParameterStore p, string name, int heads, int groups, int layers)
    {
        _norm = new GroupNorm(p, name + ".norm", groups, 1e-6f);
        _projIn = new Conv2d(p, name + ".proj_in");
        _projOut = new Conv2d(p, name + ".proj_out");
        _blocks = new BasicTransformerBlock[layers];
        for (int i = 0; i < layers; i++) _blocks[i] = new BasicTransformerBlock(p, $"{name}.transformer_blocks.{i}", heads);
    }

    public static void Declare(List<(string, Shape)> d, string name, int c, int contextDim, int layers)
    {
        GroupNorm.Declare(d, name + ".norm", c);
        Conv2d.Declare(d, name + ".proj_in", c, c, 1);
        for (int i = 0; i < layers; i++) BasicTransformerBlock.Declare(d, $"{name}.transformer_blocks.{i}", c, contextDim);
        Conv2d.Declare(d, name + ".proj_out", c, c, 1);
    }

    public Tensor Forward(Workspace w, Tensor x, Tensor context)
    {
        var ops = w.Ops;
        int n = x.Dim(0), c = x.Dim(1), hw = x.Dim(2) * x.Dim(3);
        _x = x;
        (_n, _mean, _rstd) = w.Norm(_norm, x);
        _pin = w.Act(x.Shape);
        _projIn.Forward(ops, _pin, _n);
        var h = w.Act(new Shape(n, hw, c));
        ops.Transpose(h, _pin, n, c, hw);
        foreach (var block in _blocks) h = block.Forward(w, h, context);
        _back = w.Act(x.Shape);
        ops.Transpose(_back, h, n, hw, c);
        var y = w.Act(x.Shape);
        _projOut.Forward(ops, y, _back);
        ops.Add(y, y, x);
        return y;
    }

    public Tensor Backward(Workspace w, Tensor dy, Tensor dcontext)
    {
        var ops = w.Ops;
        int n = _x.Dim(0), c = _x.Dim(1), hw = _x.Dim(2) * _x.Dim(3);
        var dx = w.Grad(_x.Shape);
        var mark = w.Gradients.Mark();
        var dback = w.Grad(_x.Shape);
        _projOut.Backward(ops, dback, dy, _back);
        var dh = w.Grad(new Shape(n, hw, c));
        ops.Transpose(dh, dback, n, c, hw);
        for (int i = _blocks.Length - 1; i >= 0; i--) dh = _blocks[i].Backward(w, dh, dcontext);
        var dpin = w.Grad(_x.Shape);
        ops.Transpose(dpin, dh, n, hw, c);
        var dn = w.Grad(_x.Shape);
        _projIn.Backward(ops, dn, dpin, _n);
        _norm.Backward(ops, dx, dn, _x, _mean, _rstd);
        ops.Add(dx, dx, dy);
        w.Gradients.Release(mark);
        return dx;
    }
}
