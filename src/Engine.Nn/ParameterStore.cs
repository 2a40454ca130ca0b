using Engine.Memory;
using Engine.Tensors;

namespace Engine.Nn;

/// <summary>
/// The flat buffers of a <see cref="ParameterLayout"/>: one allocation for all weights and one for the
/// trainable tensors' gradients (llm.c's malloc_and_point_parameters). Views are handed out by name.
/// </summary>
public sealed class ParameterStore
{
    public ParameterStore(ParameterLayout layout, ITensorAllocator allocator)
    {
        Layout = layout;
        Memory = allocator;
        Weights = allocator.Alloc(new Shape(checked((int)Math.Max(1, layout.TotalCount))));
        Grads = layout.TrainableCount > 0 ? allocator.Alloc(new Shape(checked((int)layout.TrainableCount))) : Tensor.None;
    }

    public ParameterLayout Layout { get; }

    /// <summary>The memory the buffers live in: the way to load weights into them or read them back.</summary>
    public ITensorAllocator Memory { get; }

    /// <summary>All weights, trainable first.</summary>
    public Tensor Weights { get; }

    /// <summary>Gradients of the trainable weights, in the same order (None if nothing trains).</summary>
    public Tensor Grads { get; }

    /// <summary>The trainable weights: the first <see cref="ParameterLayout.TrainableCount"/> elements.</summary>
    public Tensor TrainableWeights => Layout.TrainableCount > 0 ? Weights.Slice(0, (int)Layout.TrainableCount) : Tensor.None;

    public Tensor Weight(string name)
    {
        var p = Layout[name];
        return Weights.Slice(p.Offset, p.Shape.ToArray());
    }

    /// <summary>The gradient view of a trainable parameter; <see cref="Tensor.None"/> for a frozen one.</summary>
    public Tensor Grad(string name)
    {
        var p = Layout[name];
        return p.Trainable ? Grads.Slice(p.GradOffset, p.Shape.ToArray()) : Tensor.None;
    }
}
