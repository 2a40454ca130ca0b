using Engine.Tensors;

namespace Engine.Memory;

/// <summary>
/// Something that hands out tensor storage on one device (host memory for the CPU backend, device memory for CUDA)
/// and moves values between it and the host. Model and training code get one from <c>IOps.CreateArena</c> and never
/// touch the memory itself: the only way in or out is <see cref="Write{T}"/> and <see cref="Read{T}"/>, explicit
/// copies that on a GPU are ordered with the backend's queued work.
/// </summary>
public interface ITensorAllocator
{
    /// <summary>Where this allocator's tensors live.</summary>
    Device Device { get; }

    Tensor Alloc(Shape shape, DType dtype = DType.F32, bool zero = true);

    /// <summary>Host values → <paramref name="dst"/> (a tensor of this memory, exactly as many bytes).</summary>
    void Write<T>(Tensor dst, ReadOnlySpan<T> src) where T : unmanaged;

    /// <summary><paramref name="src"/> (a tensor of this memory) → host; waits for the work that computes it.</summary>
    void Read<T>(Span<T> dst, Tensor src) where T : unmanaged;
}

/// <summary>A position in an arena to rewind to.</summary>
public readonly record struct ArenaMark(int Block, long Offset, long Used);

/// <summary>
/// A bump allocator that is rewound rather than freed. A training step allocates its activations in the same
/// order every time, so after the first step every allocation lands on memory the arena already holds:
/// the hot path performs no native allocation. <see cref="Mark"/>/<see cref="Release"/> give a layer's
/// backward a stack for its temporaries.
/// </summary>
public interface ITensorArena : ITensorAllocator, IDisposable
{
    ArenaMark Mark();

    /// <summary>Frees everything allocated since <paramref name="mark"/>.</summary>
    void Release(ArenaMark mark);

    /// <summary>Rewinds to empty; memory is kept for reuse.</summary>
    void Reset();

    /// <summary>Largest number of bytes in use at once.</summary>
    long Peak { get; }
}
