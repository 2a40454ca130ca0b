using Engine.Memory;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models;

/// <summary>
/// What a model pass runs with: the backend, an arena for the forward's saved activations and one for the
/// backward's gradients. Both arenas are reset at the start of each step; because a step allocates in the
/// same order every time, after the first step no native memory is allocated (see ITensorArena).
/// Contract for the blocks: a Backward must follow its Forward before the block runs forward again.
/// </summary>
public sealed class Workspace(IOps ops, ITensorArena activations, ITensorArena gradients)
{
    public IOps Ops { get; } = ops;

    public ITensorArena Activations { get; } = activations;

    public ITensorArena Gradients { get; } = gradients;

    /// <summary>An uninitialized activation buffer (every op overwrites its output).</summary>
    public Tensor Act(Shape shape) => Activations.Alloc(shape, zero: false);

    /// <summary>An uninitialized gradient buffer.</summary>
    public Tensor Grad(Shape shape) => Gradients.Alloc(shape, zero: false);

    /// <summary>A zeroed gradient buffer, for gradients that are accumulated.</summary>
    public Tensor ZeroGrad(Shape shape) => Gradients.Alloc(shape, zero: true);

    /// <summary>GroupNorm forward into fresh activations: y [x's shape], mean and rstd [N, groups] for the backward.</summary>
    public (Tensor Y, Tensor Mean, Tensor Rstd) Norm(GroupNorm norm, Tensor x)
    {
        var y = Act(x.Shape);
        var mean = Act(norm.StatShape(x));
        var rstd = Act(norm.StatShape(x));
        norm.Forward(Ops, y, mean, rstd, x);
        return (y, mean, rstd);
    }

    /// <summary>LayerNorm forward over the last dimension into fresh activations, with one mean and rstd per row.</summary>
    public (Tensor Y, Tensor Mean, Tensor Rstd) Norm(LayerNorm norm, Tensor x)
    {
        var rows = new Shape((int)(x.Numel / norm.C));
        var y = Act(x.Shape);
        var mean = Act(rows);
        var rstd = Act(rows);
        norm.Forward(Ops, y, mean, rstd, x);
        return (y, mean, rstd);
    }

    public void Reset()
    {
        Activations.Reset();
        Gradients.Reset();
    }
}
