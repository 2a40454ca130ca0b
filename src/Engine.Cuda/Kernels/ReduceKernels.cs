namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/reduce.cu (deterministic two-stage segmented sums; see <see cref="ChunkTable"/>).</summary>
public static unsafe class ReduceKernels
{
    /// <summary>Must match REDUCE_THREADS in reduce.cu.</summary>
    public const uint Threads = 256;

    public const int ModeSum = 0;
    public const int ModeDot = 1;

    /// <summary>partial [nchunks] (double) = Σ a (mode 0) or Σ a·b (mode 1) of each chunk.</summary>
    public static void ReduceChunkPartials(IKernelRunner runner, nint partial, nint a, nint b, nint chunkBegin, nint chunkEnd, int nchunks, int mode)
    {
        if (nchunks == 0) return;
        void** args = stackalloc void*[] { &partial, &a, &b, &chunkBegin, &chunkEnd, &nchunks, &mode };
        runner.Launch("reduce_chunk_partials", new Dim3((uint)Math.Min(nchunks, (int)Grid.MaxBlocks)), new Dim3(Threads), 0, args);
    }

    /// <summary>result [nseg] (float) = Σ of each segment's chunk partials, in chunk order.</summary>
    public static void ReduceSegmentCombine(IKernelRunner runner, nint result, nint partial, nint segFirstChunk, int nseg)
    {
        if (nseg == 0) return;
        void** args = stackalloc void*[] { &result, &partial, &segFirstChunk, &nseg };
        runner.Launch("reduce_segment_combine", Grid.For(nseg, Threads), new Dim3(Threads), 0, args);
    }
}
