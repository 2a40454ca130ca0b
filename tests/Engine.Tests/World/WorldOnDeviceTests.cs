using System.Diagnostics;
using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.Models.Clip;
using Engine.Models.Unet;
using Engine.Tests.Cuda;
using Engine.Tests.Testing;
using Engine.World;
using Engine.World.Classifier;
using Engine.World.Pretraining;
using Xunit.Abstractions;

namespace Engine.Tests.World;

/// <summary>
/// The world's trainers and probe with every tensor in device memory: CudaOps through the kernel emulator (whose arenas
/// hand out Device.Cuda tensors, so any host access in the code under test throws) against CpuOps on the same inputs.
/// The models are shrunk (8×8 images, one UNet level of 8 channels, one text layer) because the emulator is a CPU; the
/// code paths are those of the full-size models.
/// </summary>
public sealed class WorldOnDeviceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "world-device-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static readonly UNetConfig TinyUNet = new()
    {
        InChannels = 3,
        OutChannels = 3,
        SampleSize = 8,
        BlockOutChannels = [8],
        LayersPerBlock = 1,
        DownBlockTypes = ["CrossAttnDownBlock2D"],
        UpBlockTypes = ["CrossAttnUpBlock2D"],
        NumAttentionHeads = [2],
        CrossAttentionDim = 16,
        NormNumGroups = 4,
    };

    private static ClipTextConfig TinyText(int vocab) => new(16, 32, 1, 2, vocab, WorldModel.MaxTokens);

    // Warm-up of one step: the first step runs at the full learning rate, so a wrong update would show.
    private static readonly PretrainSettings OneStep = new() { Steps = 1, Batch = 2, WarmupSteps = 1, CheckpointEvery = 1 };

    [SkippableFact]
    public void PretrainerStep_OnEmulatedCuda_MatchesCpuOps()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var e = new EmulatedCuda();
        string cpuDir = Path.Combine(_dir, "cpu"), gpuDir = Path.Combine(_dir, "gpu");
        using var cpu = new WorldPretrainer(new CpuOps(2), OneStep, cpuDir, Path.Combine(cpuDir, "model"), TinyUNet, TinyText);
        var clock = Stopwatch.StartNew();
        using var gpu = new WorldPretrainer(e.Ops, OneStep, gpuDir, Path.Combine(gpuDir, "model"), TinyUNet, TinyText);
        output.WriteLine($"emulated construction and initialization: {clock.Elapsed.TotalSeconds:F1} s");

        // The initialization is the same sequence of ops on the same Philox streams.
        Close.Bitwise("initial unet weights", e.Get(gpu.UnetParameters.Weights), cpu.UnetParameters.Weights.AsSpan());
        Close.Bitwise("initial text weights", e.Get(gpu.TextParameters.Weights), cpu.TextParameters.Weights.AsSpan());

        var c = cpu.TrainStep();
        clock.Restart();
        var g = gpu.TrainStep();
        output.WriteLine($"emulated pretraining step: {clock.Elapsed.TotalSeconds:F1} s; loss {g.Loss} (cpu {c.Loss}), grad norm {g.GradNorm} (cpu {c.GradNorm})");
        Assert.False(c.Skipped || g.Skipped);
        Assert.True(c.GradNorm > OneStep.MaxGradNorm, "the clipped path is the one to compare");
        // float32 sums in other orders: relative 1e-5 (measured: the same loss, the norm 1e-7 apart).
        Assert.Equal(c.Loss, g.Loss, 1e-5 * c.Loss);
        Assert.Equal(c.GradNorm, g.GradNorm, 1e-5 * c.GradNorm);
        CompareScaled("unet grads", e.Get(gpu.UnetParameters.Grads), cpu.UnetParameters.Grads.AsSpan());
        CompareScaled("text grads", e.Get(gpu.TextParameters.Grads), cpu.TextParameters.Grads.AsSpan());
        CompareUpdated("unet weights", e.Get(gpu.UnetParameters.Weights), cpu.UnetParameters.Weights.AsSpan(), OneStep.LearningRate);
        CompareUpdated("text weights", e.Get(gpu.TextParameters.Weights), cpu.TextParameters.Weights.AsSpan(), OneStep.LearningRate);

        // The checkpoint and the export read device memory through explicit copies.
        cpu.Save();
        gpu.Save();
        using var rc = Engine.IO.Safetensors.SafetensorsReader.Open(Path.Combine(cpuDir, "checkpoint.safetensors"));
        using var rg = Engine.IO.Safetensors.SafetensorsReader.Open(Path.Combine(gpuDir, "checkpoint.safetensors"));
        Assert.Equal(rc.Metadata["step"], rg.Metadata["step"]);
        CompareUpdated("checkpoint unet.weights", Load(rg, "unet.weights"), Load(rc, "unet.weights"), OneStep.LearningRate);
        Assert.True(File.Exists(Path.Combine(gpuDir, "model", "unet", "diffusion_pytorch_model.safetensors")));

        // Resuming on the device restores exactly what was saved from it.
        using var resumed = new WorldPretrainer(e.Ops, OneStep, gpuDir, Path.Combine(gpuDir, "model"), TinyUNet, TinyText);
        Assert.True(resumed.TryResume());
        Assert.Equal(1, resumed.Step);
        Close.Bitwise("resumed unet weights", e.Get(resumed.UnetParameters.Weights), e.Get(gpu.UnetParameters.Weights));
        Close.Bitwise("resumed text weights", e.Get(resumed.TextParameters.Weights), e.Get(gpu.TextParameters.Weights));
    }

    [SkippableFact]
    public void DenoiseProbe_OnEmulatedCuda_MatchesCpuOps()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        string dir = Path.Combine(_dir, "model");
        using (var t = new WorldPretrainer(new CpuOps(2), OneStep, Path.Combine(_dir, "state"), dir, TinyUNet, TinyText))
        {
            t.TrainStep();
            t.Save();
        }
        using var e = new EmulatedCuda();
        using var cpuPipe = new TextToImage(dir, new CpuOps(2));
        using var gpuPipe = new TextToImage(dir, e.Ops);
        var cpuRows = DenoiseProbe.Measure(cpuPipe, 1).ToList();
        var clock = Stopwatch.StartNew();
        var gpuRows = DenoiseProbe.Measure(gpuPipe, 1).ToList();
        output.WriteLine($"emulated denoise probe: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(DenoiseProbe.Timesteps, gpuRows.Select(r => r.Timestep));
        for (int i = 0; i < cpuRows.Count; i++)
        {
            output.WriteLine($"t {cpuRows[i].Timestep}: eps {gpuRows[i].EpsMse} (cpu {cpuRows[i].EpsMse}), x0 {gpuRows[i].X0Mse} (cpu {cpuRows[i].X0Mse})");
            // Relative 1e-5: one UNet forward and a float32 mean (measured: 1e-7 apart at most).
            Assert.Equal(cpuRows[i].EpsMse, gpuRows[i].EpsMse, 1e-5 * cpuRows[i].EpsMse);
            Assert.Equal(cpuRows[i].X0Mse, gpuRows[i].X0Mse, 1e-5 * cpuRows[i].X0Mse);
        }
    }

    [SkippableFact]
    public void ClassifierTraining_OnEmulatedCuda_MatchesCpuOps()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var e = new EmulatedCuda();
        var config = new ClassifierConfig { ImageSize = 8, Channels = [8, 16], NormGroups = 4, Features = 16 };
        var settings = new ClassifierSettings(Steps: 2, Batch: 2, Seed: 3);
        using var cpu = new WorldClassifier(config, new CpuOps(2), trainable: true);
        using var gpu = new WorldClassifier(config, e.Ops, trainable: true);
        double cpuLoss = ClassifierTrainer.Train(cpu, settings);
        var clock = Stopwatch.StartNew();
        double gpuLoss = ClassifierTrainer.Train(gpu, settings);
        output.WriteLine($"emulated classifier training, {settings.Steps} steps: {clock.Elapsed.TotalSeconds:F1} s; loss {gpuLoss} (cpu {cpuLoss})");
        Assert.Equal(cpuLoss, gpuLoss, 1e-5 * cpuLoss);
        CompareUpdated("classifier weights", e.Get(gpu.Parameters.Weights), cpu.Parameters.Weights.AsSpan(), settings.Steps * settings.LearningRate);

        // Saved from device memory, loaded back into it: the same bits.
        string dir = Path.Combine(_dir, "classifier");
        gpu.Save(dir, config);
        using var loaded = WorldClassifier.Load(dir, e.Ops);
        Close.Bitwise("reloaded classifier", e.Get(loaded.Parameters.Weights), e.Get(gpu.Parameters.Weights));
        Assert.Equal(cpu.Classify(Images(config, 3), 3).Labels, loaded.Classify(Images(config, 3), 3).Labels);
    }

    private static float[] Images(ClassifierConfig config, int n)
    {
        using var renderer = new WorldRenderer(config.ImageSize);
        var images = new float[n * renderer.ImageNumel];
        ClassifierTrainer.Batch(renderer, new Random(11), images, new int[n * 3], n, augmentShare: 0);
        return images;
    }

    private static float[] Load(Engine.IO.Safetensors.SafetensorsReader r, string name)
    {
        var values = new float[r.Info(name).Numel];
        r.ReadF32(name, values);
        return values;
    }

    /// <summary>|gpu − cpu| ≤ 1e-4·max|cpu| + 1e-3·|cpu| elementwise, as for the UNet's gradients in CudaOpsModelTests.</summary>
    private static void CompareScaled(string what, float[] gpu, ReadOnlySpan<float> cpu)
    {
        double scale = 0;
        foreach (var v in cpu) scale = Math.Max(scale, Math.Abs(v));
        Close.Assert(what, gpu, cpu, rtol: 1e-3, atol: 1e-4 * scale + 1e-12);
    }

    /// <summary>
    /// Weights after Adam steps from the same start. Adam moves a weight by about lr whatever its gradient's size, so
    /// only a gradient within rounding of zero can step differently: every weight within the learning rates' sum of the
    /// CPU's, all but 0.1 % within 1e-5 (measured: at most 0.05 % beyond 1e-6, none beyond 1e-5).
    /// </summary>
    private void CompareUpdated(string what, float[] gpu, ReadOnlySpan<float> cpu, float lrSum)
    {
        Close.Assert(what, gpu, cpu, rtol: 0, atol: 2 * lrSum);
        int far = 0;
        double worst = 0;
        for (int i = 0; i < gpu.Length; i++)
        {
            double d = Math.Abs(gpu[i] - cpu[i]);
            worst = Math.Max(worst, d);
            if (d > 1e-5) far++;
        }
        output.WriteLine($"{what}: {far} of {gpu.Length} differ by more than 1e-5 (max {worst:E2})");
        Assert.True(far <= gpu.Length / 1000, $"{what}: {far} of {gpu.Length} weights differ by more than 1e-5");
    }
}
