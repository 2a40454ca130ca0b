using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>Typed launcher for kernels/adamw.cu.</summary>
public static unsafe class AdamwKernels
{
    public static void AdamwStep(IKernelRunner runner, nint param, nint grad, nint m, nint v, long n,
                                 float lr, float beta1, float beta2, float eps, float weightDecay, int decoupled, float stepSize, float bc2Sqrt)
    {
        void** args = stackalloc void*[] { &param, &grad, &m, &v, &n, &lr, &beta1, &beta2, &eps, &weightDecay, &decoupled, &stepSize, &bc2Sqrt };
        runner.Launch("adamw_step", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    /// <summary>One step from an <see cref="AdamSpec"/>: the bias corrections are computed here in double, as PyTorch does on the host.</summary>
    public static void AdamwStep(IKernelRunner runner, nint param, nint grad, nint m, nint v, long n, in AdamSpec spec, int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        double bc1 = 1.0 - Math.Pow(spec.Beta1, step);
        double bc2 = 1.0 - Math.Pow(spec.Beta2, step);
        AdamwStep(runner, param, grad, m, v, n, spec.LearningRate, spec.Beta1, spec.Beta2, spec.Eps, spec.WeightDecay,
                  spec.Decoupled ? 1 : 0, (float)(spec.LearningRate / bc1), (float)Math.Sqrt(bc2));
    }
}
