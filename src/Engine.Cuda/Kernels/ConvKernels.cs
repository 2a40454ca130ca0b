using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/conv.cu (im2col/col2im for conv2d as GEMM, and the conv bias).</summary>
public static unsafe class ConvKernels
{
    /// <summary>Must match CONV_THREADS in conv.cu.</summary>
    public const uint Threads = 256;

    /// <summary>col [C·R·S, (oy1 − oy0)·OutW] from one image x [C, H, W], output rows [oy0, oy1).</summary>
    public static void Im2Col(IKernelRunner runner, nint col, nint x, in Conv2dSpec s, int oy0, int oy1)
    {
        int C = s.C, H = s.H, W = s.W, R = s.R, S = s.S, sh = s.StrideH, sw = s.StrideW, ph = s.PadH, pw = s.PadW, outW = s.OutW;
        long n = (long)C * R * S * (oy1 - oy0) * outW;
        void** args = stackalloc void*[] { &col, &x, &C, &H, &W, &R, &S, &sh, &sw, &ph, &pw, &outW, &oy0, &oy1 };
        runner.Launch("im2col_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>dx [C, H, W] = (accumulate ? dx : 0) + the adjoint of <see cref="Im2Col"/> applied to col.</summary>
    public static void Col2Im(IKernelRunner runner, nint dx, nint col, in Conv2dSpec s, int oy0, int oy1, bool accumulate)
    {
        int C = s.C, H = s.H, W = s.W, R = s.R, S = s.S, sh = s.StrideH, sw = s.StrideW, ph = s.PadH, pw = s.PadW, outW = s.OutW;
        int acc = accumulate ? 1 : 0;
        long n = (long)C * H * W;
        void** args = stackalloc void*[] { &dx, &col, &C, &H, &W, &R, &S, &sh, &sw, &ph, &pw, &outW, &oy0, &oy1, &acc };
        runner.Launch("col2im_f32", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>y [N, K, P] += bias [K].</summary>
    public static void BiasForward(IKernelRunner runner, nint y, nint bias, int N, int K, long P)
    {
        long n = (long)N * K * P;
        void** args = stackalloc void*[] { &y, &bias, &n, &K, &P };
        runner.Launch("conv_bias_forward", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>dbias [K] += Σ over images and positions of dy [N, K, P]. One block per channel.</summary>
    public static void BiasBackward(IKernelRunner runner, nint dbias, nint dy, int N, int K, long P)
    {
        void** args = stackalloc void*[] { &dbias, &dy, &N, &K, &P };
        runner.Launch("conv_bias_backward", new Dim3((uint)Math.Clamp(K, 1, (int)Grid.MaxBlocks)), new Dim3(Threads), 0, args);
    }
}
