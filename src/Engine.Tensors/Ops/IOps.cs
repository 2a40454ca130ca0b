using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// The coarse primitives every backend implements (CPU now, CUDA next). Conventions, the same in every family:
/// <list type="bullet">
/// <item>Arguments: outputs first, then inputs, then sizes and settings (llm.c order).</item>
/// <item>Gradients carry a <c>d</c> prefix: <c>dx</c>, <c>dweight</c>.</item>
/// <item>Backward <b>overwrites</b> input gradients (<c>dx</c>) and <b>accumulates</b> (+=) parameter
/// gradients (<c>dweight</c>, <c>dbias</c>, <c>dgamma</c>...), so several uses of one weight add up and a
/// ZeroGrad over the flat gradient buffer starts a step.</item>
/// <item><see cref="Tensor.None"/> for an output gradient means "not needed": no work is done for it
/// (frozen parameters cost no weight-gradient GEMM).</item>
/// <item>Statistics a backward needs (mean, rstd, logsumexp) are explicit forward outputs.</item>
/// <item>All tensors are contiguous f32 on the backend's device unless a parameter says otherwise.</item>
/// </list>
/// The families live in the partial files beside this one, one file per family.
/// </summary>
public partial interface IOps
{
    /// <summary>Device whose tensors this backend reads and writes.</summary>
    Device Device { get; }

    /// <summary>Short name for logs and reports, e.g. "cpu" or "cuda:0 (NVIDIA H200)".</summary>
    string Name { get; }
}
