using Engine.Memory;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>
    /// A bump arena in this backend's memory: host memory for the CPU, device memory for CUDA. Every model, trainer
    /// and pipeline takes its tensors from arenas made here, so the same code runs on either backend; values enter and
    /// leave only through the arena's explicit <see cref="ITensorAllocator.Write{T}"/> / <see cref="ITensorAllocator.Read{T}"/>
    /// or the ops' CopyFromHost / CopyToHost. The caller disposes it.
    /// </summary>
    /// <param name="blockSize">bytes reserved at a time; an allocation larger than this gets a block of its own</param>
    ITensorArena CreateArena(long blockSize = 64L << 20);

    /// <summary>Waits until the backend has finished every op queued so far (for timing; the CPU runs ops as they are called).</summary>
    void Synchronize();
}
