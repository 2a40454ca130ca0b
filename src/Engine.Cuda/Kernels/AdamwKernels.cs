using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>Typed launcher for kernels/adamw.cu.</summary>
public static unsafe class AdamwKernels
{
    public static void AdamwStep(IKernelRunner runner, nint param, nint grad, nint m, nint v, long n,
                                 float decay, float l2, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                 float stepSize, float bc2Sqrt, float eps)
    {
        void** args = stackalloc void*[] { &param, &grad, &m, &v, &n, &decay, &l2, &oneMinusBeta1, &beta2, &oneMinusBeta2, &stepSize, &bc2Sqrt, &eps };
        runner.Launch("adamw_step", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>
    /// One step from an <see cref="AdamSpec"/>: the per-step scalars are computed here in double and rounded to
    /// float once, exactly as CpuOps.AdamStep does (and as PyTorch does with its Python-float scalars).
    /// </summary>
    public static void AdamwStep(IKernelRunner runner, nint param, nint grad, nint m, nint v, long n, in AdamSpec spec, int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        double lr = spec.LearningRate, wd = spec.WeightDecay, b1 = spec.Beta1, b2 = spec.Beta2;
        float decay = spec.Decoupled ? (float)(1 - lr * wd) : 1f;
        float l2 = spec.Decoupled ? 0f : (float)wd;
        AdamwStep(runner, param, grad, m, v, n, decay, l2, (float)(1 - b1), (float)b2, (float)(1 - b2),
                  (float)(lr / (1 - Math.Pow(b1, step))), (float)Math.Sqrt(1 - Math.Pow(b2, step)), spec.Eps);
    }
}
