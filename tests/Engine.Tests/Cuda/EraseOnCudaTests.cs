using Engine.Cli;
using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.Models;
using Engine.Models.Loading;
using Engine.Models.Unet;
using Engine.Tests.Cli;
using Engine.Tests.Testing;
using Engine.Tests.Unlearning;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// <c>doco erase --backend cuda</c> end to end through the real command line, on CudaOps over the kernel emulator
/// (the test-only <see cref="Backends.CudaForTests"/>): load, anchor sampling, text encoding, two DoCo iterations,
/// checkpoint, telemetry and the erased model, every tensor in device memory. The same run with <c>--backend cpu</c>
/// is the reference for the written weights. The model is the tiny-sd fixture's tokenizer, text encoder and scheduler
/// with a smaller UNet (8/16 channels, 8×8 latents), so the emulator finishes in CI.
/// </summary>
public sealed class EraseOnCudaTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Erase_OnEmulatedCuda_RunsEndToEnd_AndMatchesTheCpu()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            string model = Path.Combine(dir.FullName, "model");
            MakeModel(model);
            string[] args = ["erase", "--model", model, "--concept", "star", "--anchor", "circle", "--method", "doco",
                "--steps", "2", "--warmup", "1", "--batch", "1", "--anchors", "2", "--anchor-steps", "1",
                "--disc-layers", "1", "--disc-width", "8", "--lr", "1e-3"];

            var cpu = Doco.Run([.. args, "--out", Path.Combine(dir.FullName, "cpu"), "--backend", "cpu"]);
            Assert.True(cpu.Exit == 0, cpu.Err);

            using var e = new EmulatedCuda();
            Backends.CudaForTests = () => e.Ops;
            (int Exit, string Out, string Err) cuda;
            try
            {
                cuda = Doco.Run([.. args, "--out", Path.Combine(dir.FullName, "cuda"), "--backend", "cuda"]);
            }
            finally
            {
                Backends.CudaForTests = null;
            }
            output.WriteLine(cuda.Out);
            output.WriteLine(cuda.Err);
            Assert.True(cuda.Exit == 0, cuda.Err);
            Assert.Contains("cuda (emulated)", cuda.Out);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(dir.FullName, "cuda", "train.csv")).Length);

            // The report's device memory peak: counted on CUDA (the emulator's stand-in memory counts the same way),
            // not on the CPU, whose memory is the process's.
            string cudaPage = File.ReadAllText(Path.Combine(dir.FullName, "cuda", "report.html"));
            string cpuPage = File.ReadAllText(Path.Combine(dir.FullName, "cpu", "report.html"));
            Assert.Contains("device memory peak", cudaPage);
            Assert.DoesNotContain("not reported by the backend", cudaPage);
            Assert.Contains("not reported by the backend", cpuPage);
            Assert.True(e.Ops.DevicePeakBytes > 0 && e.Ops.DevicePeakBytes >= e.Ops.DeviceBytesInUse);

            // The erased UNets: one generator step of lr·sign(g)-sized AdamW moves, so a weight whose gradient sits at
            // rounding level may move the other way (2·lr); everything else agrees to float32 rounding.
            var host = new CpuOps(2);
            using var arena = host.CreateArena();
            var fromCpu = ModelFiles.LoadUNet(Path.Combine(dir.FullName, "cpu", "model", "unet"), arena).Parameters.Weights.AsSpan().ToArray();
            var fromCuda = ModelFiles.LoadUNet(Path.Combine(dir.FullName, "cuda", "model", "unet"), arena).Parameters.Weights.AsSpan().ToArray();
            var original = ModelFiles.LoadUNet(Path.Combine(model, "unet"), arena).Parameters.Weights.AsSpan().ToArray();
            Assert.False(fromCuda.AsSpan().SequenceEqual(original), "training on CUDA must change the UNet");
            for (int i = 0; i < fromCpu.Length; i++)
                Assert.True(Math.Abs(fromCuda[i] - fromCpu[i]) <= 2e-3 + 1e-5 * Math.Abs(fromCpu[i]), $"weight {i}: cuda {fromCuda[i]}, cpu {fromCpu[i]}");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>
    /// The text-to-image pipeline (text encoder, DDIM with guidance, VAE decoder) on the emulated CudaOps against the
    /// CPU, and <c>doco sample --backend cuda</c> through the parser: sampling and the ruler run on CUDA too.
    /// </summary>
    [SkippableFact]
    public void Sample_OnEmulatedCuda_MatchesTheCpu()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            string model = Path.Combine(dir.FullName, "model");
            MakeModel(model);
            var settings = new SampleSettings(Steps: 2, GuidanceScale: 7.5f, Seed: 3, Count: 1);
            float[] want, got;
            using (var cpuPipe = new TextToImage(model, new CpuOps(2))) want = cpuPipe.Sample("a star", "", settings);
            using var e = new EmulatedCuda();
            using (var cudaPipe = new TextToImage(model, e.Ops)) got = cudaPipe.Sample("a star", "", settings);
            // Pixels in [-1, 1] after two guided DDIM steps and the VAE decoder: float32 sums in other orders.
            Close.Assert("sampled image", got, want, rtol: 1e-3, atol: 1e-4);

            Backends.CudaForTests = () => e.Ops;
            try
            {
                string png = Path.Combine(dir.FullName, "grid.png");
                var run = Doco.Run("sample", "--model", model, "--prompt", "a star", "--steps", "2", "--n", "1", "--out", png, "--backend", "cuda");
                Assert.True(run.Exit == 0, run.Err);
                Assert.True(File.Exists(png));
            }
            finally
            {
                Backends.CudaForTests = null;
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>
    /// <c>doco verify --backend cuda</c>: the fixture's text encoder, UNet and VAE outputs and every parameter gradient
    /// computed on the emulated CudaOps, held to the same tolerances against diffusers as the CPU.
    /// </summary>
    [SkippableFact]
    public void Verify_OnEmulatedCuda_MatchesTheReference()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var e = new EmulatedCuda();
        Backends.CudaForTests = () => e.Ops;
        try
        {
            var run = Doco.Run("verify", TinyTrainer.Fixture, "--backend", "cuda");
            output.WriteLine(run.Out);
            Assert.True(run.Exit == 0, run.Out + run.Err);
            Assert.Contains(" 0 failed", run.Out);
        }
        finally
        {
            Backends.CudaForTests = null;
        }
    }

    /// <summary>tiny-sd's tokenizer, text encoder, scheduler and VAE with a small random UNet of the same layout.</summary>
    private static void MakeModel(string folder)
    {
        var ops = new CpuOps(2);
        using var arena = ops.CreateArena();
        var config = TinyUNet.Config(32);
        var unet = new UNet2DConditionModel(config, arena, null);
        RandomInit.Fill(ops, unet.Parameters, 9);
        var textEncoder = ModelFiles.LoadTextEncoder(Path.Combine(TinyTrainer.Fixture, "text_encoder"), arena);
        DiffusersFolder.Save(folder, unet, textEncoder, TinyTrainer.Fixture);
    }
}
