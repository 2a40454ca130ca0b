using Engine.Cli.Bench;
using Engine.Cuda;
using Engine.Cuda.Ops;
using Engine.Tests.Cli;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// <c>doco bench kernels</c>: the bench runs every op it times on CudaOps through the kernel emulator and on the CPU,
/// with the work it divides by checked against the shapes. Times are printed, never asserted.
/// </summary>
public class KernelBenchTests(ITestOutputHelper log)
{
    [SkippableFact]
    public void EmulatedCuda_RunsEveryRow_WithTheWorkOfItsShape()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var emu = new EmulatedCuda();
        var output = new StringWriter();
        var bench = new KernelBench(emu.Ops, null, new WallClock(emu.Ops.Synchronize), () => new DeviceArena(emu.Memory, 1 << 20), 0, output);
        // tiny's layout at a quarter of its widths, memory ops over attn2.to_k/v only: the emulator switches fibers with
        // a syscall, and the whole UNet's 304 tensors would take minutes (CpuBackend_PrintsTheTable runs them).
        var unet = BenchModels.Tiny with { BlockOutChannels = [8, 16], NumAttentionHeads = [2, 2], NormNumGroups = 4, CrossAttentionDim = 8 };
        bench.RunAll(unet, textLength: 4, size: 8, batch: 1, wholeUnet: false);

        // (copy, surgery, AdamW), 5 GEMMs, self and cross attention × (forward, backward) at the one
        // level with transformers, 2 levels × (forward, backward) conv.
        Assert.Equal(3 + 5 + 4 + 4, bench.Rows.Count);
        Assert.All(bench.Rows, r => Assert.True(r.Seconds > 0 && double.IsFinite(r.Rate) && r.Rate > 0, r.ToString()));

        var surgery = bench.Rows.Single(r => r.Op.StartsWith("gradient surgery", StringComparison.Ordinal) && r.Shape.StartsWith("attn2", StringComparison.Ordinal));
        var copy = bench.Rows.Single(r => r.Op == "device copy" && r.Shape.StartsWith("attn2", StringComparison.Ordinal));
        Assert.Equal(2.5 * copy.Work, surgery.Work); // 20 vs 8 bytes per float
        Assert.Equal(surgery.Rate / copy.Rate, surgery.Ratio, 9);

        // Level 1: 16 channels, 2 heads of 8, 4×4 tokens; cross attention over the 4 text tokens.
        var cross = bench.Rows.Single(r => r.Op.StartsWith("attn2 (cross) forward", StringComparison.Ordinal));
        Assert.Equal(4.0 * 1 * 2 * 16 * 4 * 8, cross.Work);
        var convBackward = bench.Rows.Single(r => r.Op == "resnet conv 3×3 backward, 8×8");
        Assert.Equal(2 * 2.0 * 1 * 8 * 8 * 8 * 8 * 9, convBackward.Work);
        log.WriteLine(output.ToString());
        Assert.Contains("of copy bandwidth over attn2.to_k/v", output.ToString());
    }

    [Fact]
    public void CpuBackend_PrintsTheTable()
    {
        var (exit, text, error) = Doco.Run("bench", "kernels", "--backend", "cpu", "--config", "tiny", "--batch", "1", "--min-time", "0");
        Assert.Equal(0, exit);
        foreach (string op in new[] { "device copy", "gradient surgery", "AdamW", "attn1.to_q, FP32", "attn1 (self) backward", "conv 3×3 forward" })
            Assert.Contains(op, text);
        Assert.DoesNotContain("TF32", text); // no TF32 on the CPU: the row is left out, not faked
        Assert.Empty(error);
    }

    [Fact]
    public void Only_RunsTheNamedGroups_AndSetsAttentionAgainstTheSquareGemm()
    {
        var (exit, text, error) = Doco.Run("bench", "kernels", "--backend", "cpu", "--config", "tiny", "--batch", "1", "--min-time", "0",
            "--only", "attention, gemm");
        Assert.Equal(0, exit);
        Assert.Empty(error);
        Assert.Contains("attn1 (self) backward", text);
        Assert.Contains("square, FP32", text);
        Assert.Contains("attn2 (cross) forward, 8×8: ", text); // the summary line, one per attention row
        Assert.Contains("of the square FP32 GEMM's rate", text);
        Assert.DoesNotContain("device copy", text);
        Assert.DoesNotContain("conv 3×3", text);

        (exit, text, _) = Doco.Run("bench", "kernels", "--backend", "cpu", "--config", "tiny", "--batch", "1", "--min-time", "0", "--only", "attention");
        Assert.Equal(0, exit);
        Assert.Contains("attn1 (self) forward", text);
        Assert.DoesNotContain("square, FP32", text);
        Assert.DoesNotContain("of the square FP32 GEMM's rate", text); // no GEMM timed, no ratio made up
    }

    [SkippableFact]
    public void BadArguments_Exit2WithOneLine()
    {
        static (int Exit, string Out, string Err) Bench(params string[] overrides) =>
            Doco.Run(Doco.With(["bench", "kernels", "--backend", "cpu", "--config", "tiny", "--batch", "1", "--min-time", "0"], overrides));
        var (exit, _, error) = Bench("--config", "sd14");
        Assert.Equal(2, exit);
        Assert.Contains("unknown --config 'sd14'", error);
        (exit, _, error) = Bench("--batch", "0");
        Assert.Equal(2, exit);
        Assert.Contains("--batch must be ≥ 1", error);
        (exit, _, error) = Bench("--min-time", "NaN");
        Assert.Equal(2, exit);
        Assert.Contains("--min-time", error);
        (exit, _, error) = Bench("--only", "attention,softmax");
        Assert.Equal(2, exit);
        Assert.Contains("unknown --only group 'softmax'", error);
        (exit, _, error) = Bench("--only", ",");
        Assert.Equal(2, exit);
        Assert.Contains("--only names no group", error);

        using (var ctx = CudaContext.TryCreate(out _))
            Skip.If(ctx is not null, "a CUDA device is present: --backend cuda is not an error here");
        (exit, _, error) = Bench("--backend", "cuda");
        Assert.Equal(2, exit);
        Assert.StartsWith("no usable CUDA GPU", error);
    }
}
