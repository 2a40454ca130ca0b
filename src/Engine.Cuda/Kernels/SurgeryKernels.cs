using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>
/// Typed launchers for kernels/surgery.cu, DoCo's fused concept-preserving gradient (doco-spec.md §4), and
/// <see cref="Run"/>, which chains the three launches with no copy to the host in between.
/// </summary>
public static unsafe class SurgeryKernels
{
    /// <summary>Must match SURGERY_THREADS in surgery.cu.</summary>
    public const uint Threads = 256;

    /// <summary>partial [nchunks, 3] (double) = (Σ g_u², Σ g_r², Σ g_u·g_r) per chunk.</summary>
    public static void SurgeryChunkPartials(IKernelRunner runner, nint partial, nint gu, nint gr, nint chunkBegin, nint chunkEnd, int nchunks)
    {
        if (nchunks == 0) return;
        void** args = stackalloc void*[] { &partial, &gu, &gr, &chunkBegin, &chunkEnd, &nchunks };
        runner.Launch("surgery_chunk_partials", new Dim3((uint)Math.Min(nchunks, (int)Grid.MaxBlocks)), new Dim3(Threads), 0, args);
    }

    /// <summary>One block: coef [nseg, 2] = (a, b) and stats [nseg + 1, 4] (see surgery.cu).</summary>
    public static void SurgeryCoefficients(IKernelRunner runner, nint coef, nint stats, nint partial, nint segFirstChunk, int nseg, float lambda, float maxNorm, int rule)
    {
        void** args = stackalloc void*[] { &coef, &stats, &partial, &segFirstChunk, &nseg, &lambda, &maxNorm, &rule };
        runner.Launch("surgery_coefficients", new Dim3(1), new Dim3(Threads), 0, args);
    }

    /// <summary>g_u[i] ← a·g_u[i] + b·g_r[i] with its segment's (a, b).</summary>
    public static void SurgeryApply(IKernelRunner runner, nint gu, nint gr, nint coef, nint chunkBegin, nint chunkEnd, nint chunkSegment, int nchunks)
    {
        if (nchunks == 0) return;
        void** args = stackalloc void*[] { &gu, &gr, &coef, &chunkBegin, &chunkEnd, &chunkSegment, &nchunks };
        runner.Launch("surgery_apply", new Dim3((uint)Math.Min(nchunks, (int)Grid.MaxBlocks)), new Dim3(Threads), 0, args);
    }

    /// <summary>
    /// The whole surgery. Device buffers: chunk tables as uploaded from a <see cref="ChunkTable"/>, partial
    /// (3·nchunks doubles), coef (2·nseg floats), stats (4·(nseg + 1) floats).
    /// </summary>
    public static void Run(IKernelRunner runner, nint gu, nint gr, nint stats, in SurgerySpec spec, ChunkTable table,
                           nint chunkBegin, nint chunkEnd, nint segFirstChunk, nint chunkSegment, nint partial, nint coef)
    {
        SurgeryChunkPartials(runner, partial, gu, gr, chunkBegin, chunkEnd, table.Count);
        SurgeryCoefficients(runner, coef, stats, partial, segFirstChunk, table.SegmentCount, spec.Lambda, spec.MaxNorm, (int)spec.Rule);
        SurgeryApply(runner, gu, gr, coef, chunkBegin, chunkEnd, chunkSegment, table.Count);
    }
}
