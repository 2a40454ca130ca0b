using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Rng;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/adamw.cu and kernels/philox.cu through the emulator.
/// TODO(lead): compare AdamW with CpuOps.AdamStep and Philox with Engine.Random.Philox once merged
/// (PhiloxSpec is this test project's stand-in for the CPU helper's spec).
/// </summary>
public class EmulatedAdamwPhiloxTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void Adam_ThreeSteps_MatchPyTorchFormulas(bool decoupled)
    {
        SkipWithoutEmulator();
        const int n = 613;
        var spec = new AdamSpec(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: 0.1f, Decoupled: decoupled);
        double[] p = OpHarness.Randn(n, 21), m = new double[n], v = new double[n];
        float[] fp = Floats(p), fm = Zeros<float>(n), fv = Zeros<float>(n);
        for (int step = 1; step <= 3; step++)
        {
            double[] g = OpHarness.Randn(n, 30 + step);
            float[] fg = Floats(g);
            AdamwKernels.AdamwStep(Emu, Ptr(fp), Ptr(fg), Ptr(fm), Ptr(fv), n, spec, step);
            // torch.optim.AdamW / Adam (single tensor), in double.
            double bc1 = 1 - Math.Pow(spec.Beta1, step), bc2 = 1 - Math.Pow(spec.Beta2, step);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i];
                if (decoupled) p[i] *= 1 - (double)spec.LearningRate * spec.WeightDecay;
                else gi += spec.WeightDecay * p[i];
                m[i] = spec.Beta1 * m[i] + (1 - spec.Beta1) * gi;
                v[i] = spec.Beta2 * v[i] + (1 - spec.Beta2) * gi * gi;
                p[i] -= spec.LearningRate / bc1 * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(bc2) + spec.Eps);
            }
        }
        Close.Assert("param", fp, p, rtol: 1e-5, atol: 1e-6);
        Close.Assert("m", fm, m, rtol: 1e-5, atol: 1e-7);
        Close.Assert("v", fv, v, rtol: 1e-5, atol: 1e-9);
    }

    [SkippableTheory]
    [InlineData(42UL, 0UL)]
    [InlineData(0x123456789abcdefUL, 3UL)]        // an offset that starts mid-counter
    [InlineData(7UL, 0xfffffffffUL)]               // a counter above 2^32 (high word used)
    public void Philox_UniformAndNormal_MatchSpecBitwise(ulong seed, ulong offset)
    {
        SkipWithoutEmulator();
        const int n = 1031;
        float[] u = Zeros<float>(n), z = Zeros<float>(n);
        PhiloxKernels.Uniform(Emu, Ptr(u), n, seed, offset);
        PhiloxKernels.Normal(Emu, Ptr(z), n, seed, offset);
        Close.Bitwise("uniform", u, Reference(n, seed, offset, Philox.FillUniform));
        // Bitwise here because g++ and .NET both call the host libm; on a GPU, logf/sinf/cosf may differ in the
        // last bit (docs/gpu.md), so the device test uses a tolerance.
        Close.Bitwise("normal", z, Reference(n, seed, offset, Philox.FillNormal));
        Assert.All(u, v => Assert.InRange(v, float.Epsilon, 1f));
    }

    private delegate void Fill(Span<float> y, ulong seed, ulong offset);

    /// <summary>The CPU backend's Philox (Engine.Rng.Philox) is the reference the kernels must reproduce.</summary>
    private static float[] Reference(int n, ulong seed, ulong offset, Fill fill)
    {
        var y = new float[n];
        fill(y, seed, offset);
        return y;
    }
}
