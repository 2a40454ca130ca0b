using Engine.Cuda.Kernels;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/elementwise.cu and kernels/activation.cu run through the g++ emulator and are compared with their CPU
/// twins in CpuOps (Elementwise, Activation). n = 1000 spans four 256-thread blocks with a ragged tail.
/// Bitwise wherever kernel and twin do the same float operations in the same order; SiLU, quick GELU, GELU and GEGLU
/// use a tolerance because the CPU evaluates e^x and erf eight lanes at a time (Engine.Cpu.VectorMath) while the
/// kernel calls expf/erff (libm here, libdevice on a GPU): they differ in the last bits.
/// </summary>
public class EmulatedElementwiseTests
{
    private const int N = 1000;
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableFact]
    public void AddMulScaleAxpyFill_MatchCpuOpsBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        Tensor a = h.Tensor(OpHarness.Randn(N, 1), N), b = h.Tensor(OpHarness.Randn(N, 2), N);
        Tensor y = h.Zeros(N), expected = h.Zeros(N);

        ElementwiseKernels.AddF32(Emu, y.Ptr, a.Ptr, b.Ptr, N);
        h.Ops.Add(expected, a, b);
        Close.Bitwise("add", y.AsSpan(), expected.AsSpan());

        ElementwiseKernels.MulF32(Emu, y.Ptr, a.Ptr, b.Ptr, N);
        h.Ops.Mul(expected, a, b);
        Close.Bitwise("mul", y.AsSpan(), expected.AsSpan());

        ElementwiseKernels.ScaleF32(Emu, y.Ptr, a.Ptr, -0.75f, N);
        h.Ops.Scale(expected, a, -0.75f);
        Close.Bitwise("scale", y.AsSpan(), expected.AsSpan());

        b.AsSpan().CopyTo(y.AsSpan());
        b.AsSpan().CopyTo(expected.AsSpan());
        ElementwiseKernels.AxpyF32(Emu, y.Ptr, 0.5f, a.Ptr, N);
        h.Ops.Axpy(expected, 0.5f, a);
        Close.Bitwise("axpy", y.AsSpan(), expected.AsSpan());

        float last = y.AsSpan()[N - 1];
        ElementwiseKernels.FillF32(Emu, y.Ptr, 3.25f, N - 1);
        Assert.All(y.AsSpan()[..(N - 1)].ToArray(), v => Assert.Equal(3.25f, v));
        Assert.Equal(last, y.AsSpan()[N - 1]); // the element past n is untouched
    }

    [SkippableFact]
    public void AddInPlace_AliasesOutput()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        Tensor a = h.Tensor(OpHarness.Randn(N, 3), N), b = h.Tensor(OpHarness.Randn(N, 4), N), expected = h.Zeros(N);
        h.Ops.Add(expected, a, b);
        ElementwiseKernels.AddF32(Emu, a.Ptr, a.Ptr, b.Ptr, N);
        Close.Bitwise("a += b", a.AsSpan(), expected.AsSpan());
    }

    public static TheoryData<string> Activations => new() { "silu", "gelu", "quick_gelu", "leaky_relu", "clamp" };

    [SkippableTheory]
    [MemberData(nameof(Activations))]
    public void Activation_ForwardBackward_MatchCpuOps(string name)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        double[] xs = OpHarness.Randn(N, 5, 3.0);
        xs[0] = 0; // leaky_relu's kink: torch takes the slope branch at 0
        Tensor x = h.Tensor(xs, N), dy = h.Tensor(OpHarness.Randn(N, 6), N);
        Tensor y = h.Zeros(N), dx = h.Zeros(N), yCpu = h.Zeros(N), dxCpu = h.Zeros(N);
        const float slope = 0.2f;
        switch (name)
        {
            case "silu":
                ActivationKernels.SiluForward(Emu, y.Ptr, x.Ptr, N);
                ActivationKernels.SiluBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, N);
                h.Ops.SiluForward(yCpu, x);
                h.Ops.SiluBackward(dxCpu, dy, x);
                break;
            case "gelu":
                ActivationKernels.GeluForward(Emu, y.Ptr, x.Ptr, N);
                ActivationKernels.GeluBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, N);
                h.Ops.GeluForward(yCpu, x);
                h.Ops.GeluBackward(dxCpu, dy, x);
                break;
            case "quick_gelu":
                ActivationKernels.QuickGeluForward(Emu, y.Ptr, x.Ptr, N);
                ActivationKernels.QuickGeluBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, N);
                h.Ops.QuickGeluForward(yCpu, x);
                h.Ops.QuickGeluBackward(dxCpu, dy, x);
                break;
            case "clamp":
                ActivationKernels.ClampForward(Emu, y.Ptr, x.Ptr, -1f, 1f, N);
                ActivationKernels.ClampBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, -1f, 1f, N);
                h.Ops.ClampForward(yCpu, x, -1f, 1f);
                h.Ops.ClampBackward(dxCpu, dy, x, -1f, 1f);
                break;
            default:
                ActivationKernels.LeakyReluForward(Emu, y.Ptr, x.Ptr, slope, N);
                ActivationKernels.LeakyReluBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, slope, N);
                h.Ops.LeakyReluForward(yCpu, x, slope);
                h.Ops.LeakyReluBackward(dxCpu, dy, x, slope);
                break;
        }
        if (name is "gelu" or "silu" or "quick_gelu")
        {
            // erff/expf (libm) vs Engine.Cpu.VectorMath differ by an ulp or so of erf ≈ ±1 or of σ ≈ 1; both sides
            // then form 1 + erf or x·σ in float, so the difference is absolute, about |x|·2⁻²⁴ (|x| < 12 here), not
            // relative: hence atol 2e-6 (and 4e-6 for the gradient's extra factor).
            Close.Assert(name + " forward", y.AsSpan(), yCpu.AsSpan(), rtol: 1e-6, atol: 2e-6);
            Close.Assert(name + " backward", dx.AsSpan(), dxCpu.AsSpan(), rtol: 1e-6, atol: 2e-6);
        }
        else
        {
            Close.Bitwise(name + " forward", y.AsSpan(), yCpu.AsSpan());
            Close.Bitwise(name + " backward", dx.AsSpan(), dxCpu.AsSpan());
        }
    }

    [SkippableFact]
    public void Geglu_ForwardBackward_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int rows = 7, C = 77;
        Tensor x = h.Tensor(OpHarness.Randn(rows * 2 * C, 7, 2.0), rows, 2 * C), dy = h.Tensor(OpHarness.Randn(rows * C, 8), rows, C);
        Tensor y = h.Zeros(rows, C), dx = h.Zeros(rows, 2 * C), yCpu = h.Zeros(rows, C), dxCpu = h.Zeros(rows, 2 * C);
        ActivationKernels.GegluForward(Emu, y.Ptr, x.Ptr, rows, C);
        ActivationKernels.GegluBackward(Emu, dx.Ptr, dy.Ptr, x.Ptr, rows, C);
        h.Ops.GegluForward(yCpu, x);
        h.Ops.GegluBackward(dxCpu, dy, x);
        // GELU's erf differs in the last bit, absolutely about |hidden·gate|·2⁻²⁴ (see the gelu case above).
        Close.Assert("geglu forward", y.AsSpan(), yCpu.AsSpan(), rtol: 1e-6, atol: 4e-6);
        Close.Assert("geglu backward", dx.AsSpan(), dxCpu.AsSpan(), rtol: 1e-6, atol: 4e-6);
    }
}
