namespace Engine.Cuda.Kernels;

/// <summary>
/// Typed launchers for kernels/norm.cu (LayerNorm, GroupNorm, BatchNorm). The backwards take a double scratch buffer for
/// their deterministic two-stage parameter-gradient sums; its size is given by the *ScratchCount methods.
/// </summary>
public static unsafe class NormKernels
{
    /// <summary>Must match NORM_THREADS and LAYERNORM_ROWS_PER_CHUNK in norm.cu.</summary>
    public const uint Threads = 256;
    public const int LayerNormRowsPerChunk = 32;

    private static Dim3 Blocks(long count) => new((uint)Math.Clamp(count, 1, Grid.MaxBlocks));

    /// <summary>x [rows, C] → y, mean [rows], rstd [rows].</summary>
    public static void LayerNormForward(IKernelRunner runner, nint y, nint mean, nint rstd, nint x, nint gamma, nint beta, int rows, int C, float eps)
    {
        void** args = stackalloc void*[] { &y, &mean, &rstd, &x, &gamma, &beta, &rows, &C, &eps };
        runner.Launch("layernorm_forward", Blocks(rows), new Dim3(Threads), 0, args);
    }

    /// <summary>Doubles of scratch <see cref="LayerNormBackward"/> needs: 2·C per chunk of 32 rows.</summary>
    public static long LayerNormScratchCount(int rows, int C) => 2L * C * Math.Max(1, (rows + LayerNormRowsPerChunk - 1) / LayerNormRowsPerChunk);

    /// <summary>dx (overwritten; 0 = skip), dgamma and dbeta (accumulated; 0 = skip).</summary>
    public static void LayerNormBackward(IKernelRunner runner, nint dx, nint dgamma, nint dbeta, nint scratch,
                                         nint dy, nint x, nint mean, nint rstd, nint gamma, int rows, int C)
    {
        if (dx != 0)
        {
            void** args = stackalloc void*[] { &dx, &dy, &x, &mean, &rstd, &gamma, &rows, &C };
            runner.Launch("layernorm_backward_dx", Blocks(rows), new Dim3(Threads), 0, args);
        }
        if (dgamma == 0 && dbeta == 0) return;
        int chunks = (rows + LayerNormRowsPerChunk - 1) / LayerNormRowsPerChunk;
        // The chunks are the grid's y dimension, which CUDA caps at 65535 (2M rows: far above SD's B·T).
        if (chunks > ushort.MaxValue) throw new ArgumentException($"LayerNorm backward supports at most {ushort.MaxValue * LayerNormRowsPerChunk} rows, got {rows}");
        void** partialArgs = stackalloc void*[] { &scratch, &dy, &x, &mean, &rstd, &rows, &C };
        runner.Launch("layernorm_backward_param_partials", new Dim3(((uint)C + Threads - 1) / Threads, (uint)chunks), new Dim3(Threads), 0, partialArgs);
        void** combineArgs = stackalloc void*[] { &dgamma, &dbeta, &scratch, &chunks, &C };
        runner.Launch("layernorm_backward_param_combine", Grid.For(C, Threads), new Dim3(Threads), 0, combineArgs);
    }

    /// <summary>x [N, C, spatial] → y, mean [N, groups], rstd [N, groups].</summary>
    public static void GroupNormForward(IKernelRunner runner, nint y, nint mean, nint rstd, nint x, nint gamma, nint beta,
                                        int N, int C, int spatial, int groups, float eps)
    {
        void** args = stackalloc void*[] { &y, &mean, &rstd, &x, &gamma, &beta, &N, &C, &spatial, &groups, &eps };
        runner.Launch("groupnorm_forward", Blocks((long)N * groups), new Dim3(Threads), 0, args);
    }

    /// <summary>Doubles of scratch <see cref="GroupNormBackward"/> needs: 2 per (n, c).</summary>
    public static long GroupNormScratchCount(int N, int C) => 2L * N * C;

    /// <summary>dx (overwritten; 0 = skip), dgamma and dbeta (accumulated; 0 = skip).</summary>
    public static void GroupNormBackward(IKernelRunner runner, nint dx, nint dgamma, nint dbeta, nint scratch,
                                         nint dy, nint x, nint mean, nint rstd, nint gamma, int N, int C, int spatial, int groups)
    {
        void** sumArgs = stackalloc void*[] { &scratch, &dy, &x, &mean, &rstd, &N, &C, &spatial, &groups };
        runner.Launch("groupnorm_backward_channel_sums", Blocks((long)N * C), new Dim3(Threads), 0, sumArgs);
        if (dx != 0)
        {
            void** args = stackalloc void*[] { &dx, &dy, &x, &mean, &rstd, &gamma, &scratch, &N, &C, &spatial, &groups };
            runner.Launch("groupnorm_backward_dx", Blocks((long)N * groups), new Dim3(Threads), 0, args);
        }
        if (dgamma == 0 && dbeta == 0) return;
        void** paramArgs = stackalloc void*[] { &dgamma, &dbeta, &scratch, &N, &C };
        runner.Launch("groupnorm_backward_params", Grid.For(C, Threads), new Dim3(Threads), 0, paramArgs);
    }

    /// <summary>
    /// BatchNorm2d over x [N, C, spatial]. training != 0: batch statistics, mean/rstd written (0 = skip) and the
    /// running statistics updated (0 = skip); else the running statistics normalize.
    /// </summary>
    public static void BatchNormForward(IKernelRunner runner, nint y, nint mean, nint rstd, nint runningMean, nint runningVar,
                                        nint x, nint gamma, nint beta, int N, int C, int spatial, bool training, float momentum, float eps)
    {
        int train = training ? 1 : 0;
        void** args = stackalloc void*[] { &y, &mean, &rstd, &runningMean, &runningVar, &x, &gamma, &beta, &N, &C, &spatial, &train, &momentum, &eps };
        runner.Launch("batchnorm_forward", Blocks(C), new Dim3(Threads), 0, args);
    }

    /// <summary>dx (overwritten; 0 = skip), dgamma and dbeta (accumulated; 0 = skip). One block per channel.</summary>
    public static void BatchNormBackward(IKernelRunner runner, nint dx, nint dgamma, nint dbeta, nint dy, nint x, nint mean, nint rstd, nint gamma,
                                         int N, int C, int spatial)
    {
        void** args = stackalloc void*[] { &dx, &dgamma, &dbeta, &dy, &x, &mean, &rstd, &gamma, &N, &C, &spatial };
        runner.Launch("batchnorm_backward", Blocks(C), new Dim3(Threads), 0, args);
    }
}
