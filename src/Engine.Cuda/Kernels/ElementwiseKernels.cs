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
}
