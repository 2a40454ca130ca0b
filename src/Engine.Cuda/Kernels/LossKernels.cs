namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/loss.cu.</summary>
public static unsafe class LossKernels
{
    /// <summary>Must match LOSS_THREADS and LOSS_CHUNK in loss.cu (the chunk is the CPU twin's Flat.ReduceChunk).</summary>
    public const uint Threads = 256;
    public const int Chunk = 8192;

    private const int Mse = 0, BceWithLogits = 1;

    /// <summary>Doubles of scratch the forward needs for n elements: one per chunk.</summary>
    public static long PartialCount(long n) => Math.Max(1, (n + Chunk - 1) / Chunk);

    /// <summary>loss [1] = mean((x − target)²); partial: <see cref="PartialCount"/> doubles of scratch.</summary>
    public static void MseForward(IKernelRunner runner, nint loss, nint partial, nint x, nint target, long n) =>
        Forward(runner, loss, partial, x, target, n, Mse);

    /// <summary>dx = 2(x − target)/n · dloss.</summary>
    public static void MseBackward(IKernelRunner runner, nint dx, nint x, nint target, float dloss, long n)
    {
        float scale = (float)(2.0 * dloss / Math.Max(1, n));
        void** args = stackalloc void*[] { &dx, &x, &target, &scale, &n };
        runner.Launch("mse_backward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>loss [1] = mean(max(z, 0) − z·t + log(1 + e^{−|z|})).</summary>
    public static void BceWithLogitsForward(IKernelRunner runner, nint loss, nint partial, nint logits, nint target, long n) =>
        Forward(runner, loss, partial, logits, target, n, BceWithLogits);

    /// <summary>dlogits = (σ(z) − t)/n · dloss.</summary>
    public static void BceWithLogitsBackward(IKernelRunner runner, nint dlogits, nint logits, nint target, float dloss, long n)
    {
        float scale = (float)((double)dloss / Math.Max(1, n));
        void** args = stackalloc void*[] { &dlogits, &logits, &target, &scale, &n };
        runner.Launch("bce_with_logits_backward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    private static void Forward(IKernelRunner runner, nint loss, nint partial, nint x, nint target, long n, int kind)
    {
        long chunks = (n + Chunk - 1) / Chunk;
        if (chunks > 0)
        {
            void** args = stackalloc void*[] { &partial, &x, &target, &n, &kind };
            runner.Launch("loss_chunk_partials", new Dim3((uint)Math.Min(chunks, Grid.MaxBlocks)), new Dim3(Threads), 0, args);
        }
        double scale = 1.0 / Math.Max(1, n);
        void** combine = stackalloc void*[] { &loss, &partial, &chunks, &scale };
        runner.Launch("loss_combine", new Dim3(1), new Dim3(1), 0, combine);
    }
}
