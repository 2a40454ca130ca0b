using Engine.Cuda.Kernels;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/elementwise.cu and kernels/activation.cu run through the g++ emulator, against double references.
/// n = 1000 spans four 256-thread blocks with a ragged tail.
/// TODO(lead): compare with CpuOps (Elementwise, Activation) once the CPU families are merged.
/// </summary>
public class EmulatedElementwiseTests
{
    private const int N = 1000;
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableFact]
    public void AddMulScaleAxpyFill()
    {
        SkipWithoutEmulator();
        double[] a = OpHarness.Randn(N, 1), b = OpHarness.Randn(N, 2);
        float[] fa = Floats(a), fb = Floats(b), y = Zeros<float>(N);

        ElementwiseKernels.AddF32(Emu, Ptr(y), Ptr(fa), Ptr(fb), N);
        Close.Assert("add", y, a.Zip(b, (p, q) => p + q).ToArray());

        ElementwiseKernels.MulF32(Emu, Ptr(y), Ptr(fa), Ptr(fb), N);
        Close.Assert("mul", y, a.Zip(b, (p, q) => p * q).ToArray());

        ElementwiseKernels.ScaleF32(Emu, Ptr(y), Ptr(fa), -0.75f, N);
        Close.Assert("scale", y, a.Select(p => -0.75 * p).ToArray());

        float[] acc = Floats(b);
        ElementwiseKernels.AxpyF32(Emu, Ptr(acc), 0.5f, Ptr(fa), N);
        Close.Assert("axpy", acc, a.Zip(b, (p, q) => q + 0.5 * p).ToArray());

        ElementwiseKernels.FillF32(Emu, Ptr(y), 3.25f, N - 1);
        Assert.All(y[..(N - 1)], v => Assert.Equal(3.25f, v));
        Assert.Equal(-0.75f * fa[N - 1], y[N - 1]); // the element past n is untouched
    }

    [SkippableFact]
    public void AddInPlace_AliasesOutput()
    {
        SkipWithoutEmulator();
        double[] a = OpHarness.Randn(N, 3), b = OpHarness.Randn(N, 4);
        float[] fa = Floats(a), fb = Floats(b);
        ElementwiseKernels.AddF32(Emu, Ptr(fa), Ptr(fa), Ptr(fb), N);
        Close.Assert("a += b", fa, a.Zip(b, (p, q) => p + q).ToArray());
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double Phi(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    private static double PhiDensity(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    /// <summary>erf to double precision (Abramowitz–Stegun 7.1.26 is too coarse; this is the series/continued-fraction pair).</summary>
    private static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 3)
        {
            // Maclaurin series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
            double sum = 0, term = ax;
            for (int n = 0; n < 200; n++)
            {
                sum += term / (2 * n + 1);
                term *= -ax * ax / (n + 1);
                if (Math.Abs(term) < 1e-18) break;
            }
            return Math.Sign(x) * 2 / Math.Sqrt(Math.PI) * sum;
        }
        // Continued fraction for erfc at large |x|.
        double f = 0;
        for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        return Math.Sign(x) * (1 - erfc);
    }

    public static TheoryData<string> Activations => new() { "silu", "gelu", "quick_gelu", "leaky_relu" };

    [SkippableTheory]
    [MemberData(nameof(Activations))]
    public void Activation_ForwardBackward(string name)
    {
        SkipWithoutEmulator();
        double[] x = OpHarness.Randn(N, 5, 3.0), dy = OpHarness.Randn(N, 6);
        x[0] = 0; // leaky_relu's kink: torch takes the slope branch at 0
        float[] fx = Floats(x), fdy = Floats(dy), y = Zeros<float>(N), dx = Zeros<float>(N);
        const float slope = 0.2f;
        Func<double, double> f, df;
        switch (name)
        {
            case "silu":
                f = v => v * Sigmoid(v);
                df = v => Sigmoid(v) * (1 + v * (1 - Sigmoid(v)));
                ActivationKernels.SiluForward(Emu, Ptr(y), Ptr(fx), N);
                ActivationKernels.SiluBackward(Emu, Ptr(dx), Ptr(fdy), Ptr(fx), N);
                break;
            case "gelu":
                f = v => v * Phi(v);
                df = v => Phi(v) + v * PhiDensity(v);
                ActivationKernels.GeluForward(Emu, Ptr(y), Ptr(fx), N);
                ActivationKernels.GeluBackward(Emu, Ptr(dx), Ptr(fdy), Ptr(fx), N);
                break;
            case "quick_gelu":
                f = v => v * Sigmoid(1.702 * v);
                df = v => Sigmoid(1.702 * v) + 1.702 * v * Sigmoid(1.702 * v) * (1 - Sigmoid(1.702 * v));
                ActivationKernels.QuickGeluForward(Emu, Ptr(y), Ptr(fx), N);
                ActivationKernels.QuickGeluBackward(Emu, Ptr(dx), Ptr(fdy), Ptr(fx), N);
                break;
            default:
                f = v => v > 0 ? v : slope * v;
                df = v => v > 0 ? 1 : slope;
                ActivationKernels.LeakyReluForward(Emu, Ptr(y), Ptr(fx), slope, N);
                ActivationKernels.LeakyReluBackward(Emu, Ptr(dx), Ptr(fdy), Ptr(fx), slope, N);
                break;
        }
        Close.Assert(name + " forward", y, x.Select(f).ToArray(), rtol: 1e-5, atol: 1e-6);
        Close.Assert(name + " backward", dx, x.Select((v, i) => dy[i] * df(v)).ToArray(), rtol: 1e-5, atol: 1e-6);
    }

    [SkippableFact]
    public void Geglu_ForwardBackward()
    {
        SkipWithoutEmulator();
        const int rows = 7, C = 77;
        double[] x = OpHarness.Randn(rows * 2 * C, 7, 2.0), dy = OpHarness.Randn(rows * C, 8);
        float[] fx = Floats(x), fdy = Floats(dy), y = Zeros<float>(rows * C), dx = Zeros<float>(rows * 2 * C);
        ActivationKernels.GegluForward(Emu, Ptr(y), Ptr(fx), rows, C);
        ActivationKernels.GegluBackward(Emu, Ptr(dx), Ptr(fdy), Ptr(fx), rows, C);
        var yRef = new double[rows * C];
        var dxRef = new double[rows * 2 * C];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < C; c++)
            {
                double h = x[r * 2 * C + c], g = x[r * 2 * C + C + c], d = dy[r * C + c];
                yRef[r * C + c] = h * g * Phi(g);
                dxRef[r * 2 * C + c] = d * g * Phi(g);
                dxRef[r * 2 * C + C + c] = d * h * (Phi(g) + g * PhiDensity(g));
            }
        Close.Assert("geglu forward", y, yRef);
        Close.Assert("geglu backward", dx, dxRef);
    }
}
