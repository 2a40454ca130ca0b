namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/bias.cu.</summary>
public static unsafe class BiasKernels
{
    /// <summary>Must match BIAS_THREADS in bias.cu.</summary>
    public const uint Threads = 256;

    /// <summary>y [rows, C] += bias [C].</summary>
    public static void AddRowBias(IKernelRunner runner, nint y, nint bias, long rows, int C)
    {
        void** args = stackalloc void*[] { &y, &bias, &rows, &C };
        runner.Launch("add_row_bias", Grid.For(rows * C), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>dbias [C] += Σ_rows dy [rows, C] (accumulates: a parameter gradient).</summary>
    public static void AddRowBiasBackward(IKernelRunner runner, nint dbias, nint dy, long rows, int C)
    {
        void** args = stackalloc void*[] { &dbias, &dy, &rows, &C };
        runner.Launch("add_row_bias_backward", Grid.For(C), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>y [nc, inner] += b [nc] (y is [N, C, *], b is [N, C], nc = N·C).</summary>
    public static void AddChannelBias(IKernelRunner runner, nint y, nint b, long nc, int inner)
    {
        void** args = stackalloc void*[] { &y, &b, &nc, &inner };
        runner.Launch("add_channel_bias", Grid.For(nc * inner), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>db [nc] = Σ dy [nc, inner] (overwrites). One block per (n, c).</summary>
    public static void AddChannelBiasBackward(IKernelRunner runner, nint db, nint dy, long nc, int inner)
    {
        void** args = stackalloc void*[] { &db, &dy, &nc, &inner };
        runner.Launch("add_channel_bias_backward", new Dim3((uint)Math.Clamp(nc, 1, Grid.MaxBlocks)), new Dim3(Threads), 0, args);
    }
}
