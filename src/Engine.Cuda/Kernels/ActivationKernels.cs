namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/activation.cu.</summary>
public static unsafe class ActivationKernels
{
    public static void SiluForward(IKernelRunner runner, nint y, nint x, long n) => Unary(runner, "silu_forward", y, x, n);

    public static void SiluBackward(IKernelRunner runner, nint dx, nint dy, nint x, long n) => Binary(runner, "silu_backward", dx, dy, x, n);

    public static void GeluForward(IKernelRunner runner, nint y, nint x, long n) => Unary(runner, "gelu_forward", y, x, n);

    public static void GeluBackward(IKernelRunner runner, nint dx, nint dy, nint x, long n) => Binary(runner, "gelu_backward", dx, dy, x, n);

    public static void QuickGeluForward(IKernelRunner runner, nint y, nint x, long n) => Unary(runner, "quick_gelu_forward", y, x, n);

    public static void QuickGeluBackward(IKernelRunner runner, nint dx, nint dy, nint x, long n) => Binary(runner, "quick_gelu_backward", dx, dy, x, n);

    /// <summary>x [rows, 2C] → y [rows, C].</summary>
    public static void GegluForward(IKernelRunner runner, nint y, nint x, long rows, int C)
    {
        void** args = stackalloc void*[] { &y, &x, &rows, &C };
        runner.Launch("geglu_forward", Grid.For(rows * C), new Dim3(Grid.Threads), 0, args);
    }

    public static void GegluBackward(IKernelRunner runner, nint dx, nint dy, nint x, long rows, int C)
    {
        void** args = stackalloc void*[] { &dx, &dy, &x, &rows, &C };
        runner.Launch("geglu_backward", Grid.For(rows * C), new Dim3(Grid.Threads), 0, args);
    }

    public static void LeakyReluForward(IKernelRunner runner, nint y, nint x, float slope, long n)
    {
        void** args = stackalloc void*[] { &y, &x, &slope, &n };
        runner.Launch("leaky_relu_forward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void LeakyReluBackward(IKernelRunner runner, nint dx, nint dy, nint x, float slope, long n)
    {
        void** args = stackalloc void*[] { &dx, &dy, &x, &slope, &n };
        runner.Launch("leaky_relu_backward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void ClampForward(IKernelRunner runner, nint y, nint x, float lo, float hi, long n)
    {
        void** args = stackalloc void*[] { &y, &x, &lo, &hi, &n };
        runner.Launch("clamp_forward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void ClampBackward(IKernelRunner runner, nint dx, nint dy, nint x, float lo, float hi, long n)
    {
        void** args = stackalloc void*[] { &dx, &dy, &x, &lo, &hi, &n };
        runner.Launch("clamp_backward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    private static void Unary(IKernelRunner runner, string kernel, nint y, nint x, long n)
    {
        void** args = stackalloc void*[] { &y, &x, &n };
        runner.Launch(kernel, Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    private static void Binary(IKernelRunner runner, string kernel, nint dx, nint dy, nint x, long n)
    {
        void** args = stackalloc void*[] { &dx, &dy, &x, &n };
        runner.Launch(kernel, Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }
}
