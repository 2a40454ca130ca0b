using System.Reflection;
using System.Text.RegularExpressions;
using Engine.Cpu;
using Engine.Ops;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// TF32 in the emulated cuBLAS (<see cref="EmulatedGemmEngine"/> with tf32), the rounding it shares with the stand-in
/// cuBLAS (tests/StandIn), and the stand-in build's agreement with the kernel emulator's compiler flags.
/// </summary>
public class EmulatedTf32Tests
{
    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(1.00048828125f, 1f)]                     // 1 + 2⁻¹¹: a tie, to even (down)
    [InlineData(1.00146484375f, 1.001953125f)]           // 1 + 3·2⁻¹¹: a tie, to even (up, 1 + 2⁻⁹)
    [InlineData(1.00048923492431640625f, 1.0009765625f)] // 1 + 2⁻¹¹ + 2⁻²⁰: above the tie, up (1 + 2⁻¹⁰)
    [InlineData(1.00048732757568359375f, 1f)]            // 1 + 2⁻¹¹ − 2⁻²⁰: below the tie, down
    [InlineData(-1.00146484375f, -1.001953125f)]         // the sign is kept
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(float.MaxValue, float.PositiveInfinity)] // past TF32's largest finite value, as in hardware
    public void RoundToTf32_NearestEven(float x, float expected) =>
        Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(EmulatedGemmEngine.RoundToTf32(x)));

    [Fact]
    public void RoundToTf32_KeepsNaN() => Assert.True(float.IsNaN(EmulatedGemmEngine.RoundToTf32(float.NaN)));

    [Fact]
    public unsafe void EmulatedCublas_Tf32_RoundsBothOperands()
    {
        // C (4×1) = A (4×2) · B (2×1), column-major; B = [1 + 3·2⁻¹¹, 0]: both operands rounded before the product.
        var a = Pinned.Of<float>([1.00048828125f, 1.00146484375f, 2f, -3.14159265f, 9, 9, 9, 9]);
        var b = Pinned.Of<float>([1.00146484375f, 0]);
        var c = Pinned.Zeros<float>(4);
        new EmulatedGemmEngine(new CpuOps(1), tf32: true).GemmStridedBatched(false, false, 4, 1, 2, 1, Pinned.Ptr(a), 4, 0, Pinned.Ptr(b), 2, 0,
                                                                             0, Pinned.Ptr(c), 4, 0, 1);
        float bt = 1.001953125f;
        Assert.Equal([1 * bt, bt * bt, 2 * bt, EmulatedGemmEngine.RoundToTf32(-3.14159265f) * bt], c);
        new EmulatedGemmEngine(new CpuOps(1)).GemmStridedBatched(false, false, 4, 1, 2, 1, Pinned.Ptr(a), 4, 0, Pinned.Ptr(b), 2, 0,
                                                                  0, Pinned.Ptr(c), 4, 0, 1);
        Assert.Equal((1.00048828125f) * (1.00146484375f), c[0]); // FP32: exact operands
    }

    /// <summary>
    /// CudaOps.Gemm on the TF32 engine against CpuOps in FP32. Each operand is off by at most 2⁻¹¹ of itself, so each
    /// product by at most (2⁻¹⁰ + 2⁻²²)·|a·b|, and the whole sum by that much of Σ|a·b| plus FP32's own summation error
    /// (K·2⁻²⁴·Σ|a·b| in the worst case): the bound is per element, from the operands' magnitudes (an absolute
    /// tolerance would be too loose for small sums and too tight for large ones). It must also differ from FP32
    /// somewhere, or TF32 was not in effect.
    /// </summary>
    [SkippableTheory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Gemm_Tf32_WithinTheOperandBound(bool ta, bool tb)
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var e = new EmulatedCuda(tf32: true);
        using var h = new OpHarness(2);
        const int M = 13, N = 7, K = 77, batch = 2;
        var spec = GemmSpec.Dense(M, N, K, ta, tb, batch);
        int na = (int)spec.ExtentA, nb = (int)spec.ExtentB, nc = (int)spec.ExtentC;
        double[] a = OpHarness.Randn(na, 71), b = OpHarness.Randn(nb, 72);
        var dc = e.Zeros(nc);
        e.Ops.Gemm(dc, e.Dev(a, na), e.Dev(b, nb), spec);
        var cc = h.Tensor(new double[nc], nc);
        h.Ops.Gemm(cc, h.Tensor(a, na), h.Tensor(b, nb), spec);
        var bound = h.Tensor(new double[nc], nc);
        h.Ops.Gemm(bound, h.Tensor(Array.ConvertAll(a, Math.Abs), na), h.Tensor(Array.ConvertAll(b, Math.Abs), nb), spec);
        float[] gpu = e.Get(dc);
        ReadOnlySpan<float> cpu = cc.AsSpan(), sum = bound.AsSpan();
        double maxErr = 0;
        for (int i = 0; i < nc; i++)
        {
            double err = Math.Abs(gpu[i] - cpu[i]), limit = (Math.Pow(2, -10) + Math.Pow(2, -22) + K * Math.Pow(2, -24)) * sum[i];
            Assert.True(err <= limit, $"element {i}: TF32 {gpu[i]:R} vs FP32 {cpu[i]:R}, error {err:E3} over the bound {limit:E3}");
            maxErr = Math.Max(maxErr, err);
        }
        Assert.True(maxErr > 0, "TF32 result equals FP32 everywhere: operands were not rounded");
    }

    /// <summary>
    /// build.ps1's $EmuFlags build the stand-in's kernel libraries; they must be KernelEmulator's flags, so the stand-in
    /// runs the kernels as the emulator tests do and both share the g++ cache. Skips when the repository is not above
    /// the test output (a copied test folder).
    /// </summary>
    [SkippableFact]
    public void StandInKernelFlags_AreTheEmulatorFlags()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "build.ps1"))) dir = dir.Parent;
        Skip.If(dir is null, "build.ps1 not found above the test output");
        string script = File.ReadAllText(Path.Combine(dir!.FullName, "build.ps1"));
        var line = Regex.Match(script, @"^\$EmuFlags = @\((.*)\)\s*$", RegexOptions.Multiline);
        Assert.True(line.Success, "build.ps1 has no '$EmuFlags = @(...)' line");
        string[] standIn = [.. Regex.Matches(line.Groups[1].Value, "'([^']*)'").Select(m => m.Groups[1].Value)];
        var field = typeof(KernelEmulator).GetField("Flags", BindingFlags.NonPublic | BindingFlags.Static);
        Assert.NotNull(field);
        Assert.Equal((string[])field!.GetValue(null)!, standIn);
    }
}
