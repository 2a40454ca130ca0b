namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/elementwise.cu; parameters mirror the CUDA signatures (pointers are device addresses).</summary>
public static unsafe class ElementwiseKernels
{
    public static void AddF32(IKernelRunner runner, nint y, nint a, nint b, long n)
    {
        void** args = stackalloc void*[] { &y, &a, &b, &n };
        runner.Launch("add_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void MulF32(IKernelRunner runner, nint y, nint a, nint b, long n)
    {
        void** args = stackalloc void*[] { &y, &a, &b, &n };
        runner.Launch("mul_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void ScaleF32(IKernelRunner runner, nint y, nint x, float alpha, long n)
    {
        void** args = stackalloc void*[] { &y, &x, &alpha, &n };
        runner.Launch("scale_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void AxpyF32(IKernelRunner runner, nint y, float alpha, nint x, long n)
    {
        void** args = stackalloc void*[] { &y, &alpha, &x, &n };
        runner.Launch("axpy_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void FillF32(IKernelRunner runner, nint y, float value, long n)
    {
        void** args = stackalloc void*[] { &y, &value, &n };
        runner.Launch("fill_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>y [n, dim] = table[ids[i], :]; ids (I32) must be in range (the kernel does not check).</summary>
    public static void EmbeddingForward(IKernelRunner runner, nint y, nint ids, nint table, long n, int dim)
    {
        void** args = stackalloc void*[] { &y, &ids, &table, &n, &dim };
        runner.Launch("embedding_forward", Grid.For(n * dim), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>dtable[ids[i], :] += dy[i, :], deterministic: one thread per column, ids in order.</summary>
    public static void EmbeddingBackward(IKernelRunner runner, nint dtable, nint dy, nint ids, long n, int dim)
    {
        void** args = stackalloc void*[] { &dtable, &dy, &ids, &n, &dim };
        runner.Launch("embedding_backward", Grid.For(dim), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>x [planes, h, w] → y [planes, 2h, 2w] (nearest); planes = N·C.</summary>
    public static void Upsample2xForward(IKernelRunner runner, nint y, nint x, long planes, int h, int w)
    {
        void** args = stackalloc void*[] { &y, &x, &planes, &h, &w };
        runner.Launch("upsample2x_forward", Grid.For(planes * 4 * h * w), new Dim3(Grid.Threads), 0, args);
    }

    public static void Upsample2xBackward(IKernelRunner runner, nint dx, nint dy, long planes, int h, int w)
    {
        void** args = stackalloc void*[] { &dx, &dy, &planes, &h, &w };
        runner.Launch("upsample2x_backward", Grid.For(planes * h * w), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>y [n, perA + perB] = (a [n, perA] | b [n, perB]) per sample: channel concat of [N, C, *] tensors.</summary>
    public static void ConcatChannels(IKernelRunner runner, nint y, nint a, nint b, long n, long perA, long perB)
    {
        void** args = stackalloc void*[] { &y, &a, &b, &n, &perA, &perB };
        runner.Launch("concat_channels", Grid.For(n * (perA + perB)), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>The inverse of <see cref="ConcatChannels"/>; a or b may be 0 (not needed).</summary>
    public static void SplitChannels(IKernelRunner runner, nint a, nint b, nint x, long n, long perA, long perB)
    {
        void** args = stackalloc void*[] { &a, &b, &x, &n, &perA, &perB };
        runner.Launch("split_channels", Grid.For(n * (perA + perB)), new Dim3(Grid.Threads), 0, args);
    }
}
