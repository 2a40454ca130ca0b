using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Rng;
using Engine.Tensors;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/adamw.cu and kernels/philox.cu through the emulator, against their CPU twins: CpuOps.AdamStep
/// (bitwise: the kernel does the same float operations in the same order, and the emulator does not contract
/// into FMAs) and Engine.Rng.Philox.
/// </summary>
public class EmulatedAdamwPhiloxTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void Adam_ThreeSteps_MatchCpuOpsBitwise(bool decoupled)
    {
        SkipWithoutEmulator();
        const int n = 613; // three blocks with a ragged tail; the CPU side takes its vector and scalar paths
        var spec = new AdamSpec(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: 0.1f, Decoupled: decoupled);
        using var h = new OpHarness();
        double[] p0 = OpHarness.Randn(n, 21);
        Tensor p = h.Tensor(p0, n), m = h.Zeros(n), v = h.Zeros(n);
        Tensor pCpu = h.Tensor(p0, n), mCpu = h.Zeros(n), vCpu = h.Zeros(n);
        for (int step = 1; step <= 3; step++)
        {
            Tensor g = h.Tensor(OpHarness.Randn(n, 30 + step), n);
            AdamwKernels.AdamwStep(Emu, p.Ptr, g.Ptr, m.Ptr, v.Ptr, n, spec, step);
            h.Ops.AdamStep(pCpu, g, mCpu, vCpu, spec, step);
        }
        Close.Bitwise("param", p.AsSpan(), pCpu.AsSpan());
        Close.Bitwise("m", m.AsSpan(), mCpu.AsSpan());
        Close.Bitwise("v", v.AsSpan(), vCpu.AsSpan());
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
