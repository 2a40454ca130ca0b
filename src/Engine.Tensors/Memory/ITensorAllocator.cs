using Engine.Tensors;

namespace Engine.Memory;

/// <summary>Something that hands out tensor storage on one device: a host arena now, a device arena with CUDA.</summary>
public interface ITensorAllocator
{
    Tensor Alloc(Shape shape, DType dtype = DType.F32, bool zero = true);
}

/// <summary>A position in an arena to rewind to.</summary>
public readonly record struct ArenaMark(int Block, long Offset, long Used);

/// <summary>
/// A bump allocator that is rewound rather than freed. A training step allocates its activations in the same
/// order every time, so after the first step every allocation lands on memory the arena already holds:
/// the hot path performs no native allocation. <see cref="Mark"/>/<see cref="Release"/> give a layer's
/// backward a stack for its temporaries.
/// </summary>
public interface ITensorArena : ITensorAllocator
{
    ArenaMark Mark();

    /// <summary>Frees everything allocated since <paramref name="mark"/>.</summary>
    void Release(ArenaMark mark);

    /// <summary>Rewinds to empty; memory is kept for reuse.</summary>
    void Reset();

    /// <summary>Largest number of bytes in use at once.</summary>
    long Peak { get; }
}
