using System.Diagnostics;
using Engine.Cpu;
using Engine.Diffusion.Schedulers;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Tests.Testing;
using Engine.Unlearning;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// Whole training steps of the three methods on CudaOps (kernel emulator, emulated cuBLAS, host memory posing as the
/// device) against CpuOps: the same UNet weights, inputs and settings, two iterations each, then the step records
/// (losses, the discriminator's accuracies, per-tensor g_u·g_r cosines and firing) and the weights after AdamW.
/// Every tensor of the CUDA run, the trainer's own included, lives in a device arena, so a host access anywhere in the
/// trainer, the UNet or the discriminator throws here as it would on a GPU.
/// The UNet has the fixture's structure at 8/16 channels and 8×8 latents (the emulator is a CPU), trained on its
/// attn2.to_k/to_v tensors as DoCo's default subset.
/// </summary>
public class TrainerStepTests(ITestOutputHelper output)
{
    private static readonly UNetConfig Config = TinyUNet.Config();

    private const int TextLength = 5;

    [SkippableFact]
    public void DoCoStep_OnCudaOps_MatchesCpuOps() => Check(new ErasureSettings
    {
        Method = ErasureMethod.DoCo,
        Steps = 3,
        Warmup = 0,
        Batch = 2,
        // 8×8 images: one stride-2 layer, then the stride-1 block and the head leave 2×2 patches.
        DiscriminatorLayers = 1,
        DiscriminatorWidth = 8,
        LearningRate = 1e-3f,
        DiscriminatorLearningRate = 1e-3f,
        ApplyRetainGrad = true,
    });

    [SkippableFact]
    public void AblationStep_OnCudaOps_MatchesCpuOps() => Check(new ErasureSettings
    {
        Method = ErasureMethod.ConceptAblation,
        Steps = 2,
        Batch = 2,
        HFlip = false,
        LearningRate = 1e-3f,
    });

    [SkippableFact]
    public void EsdStep_OnCudaOps_MatchesCpuOps() => Check(new ErasureSettings
    {
        Method = ErasureMethod.Esd,
        Steps = 2,
        Batch = 1,
        HFlip = false,
        // Enough DDIM steps that both iterations sample a few of them with the trainable UNet.
        EsdDdimSteps = 4,
        LearningRate = 1e-3f,
    });

    private void Check(ErasureSettings settings)
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        var cpu = new CpuOps(2);
        using var e = new EmulatedCuda();
        var scheduler = new SchedulerConfig { NumTrainTimesteps = 1000 };
        var inputs = Inputs();

        using var hostWeights = cpu.CreateArena();
        var hostUnet = new UNet2DConditionModel(Config, hostWeights, TrainableSubsets.Predicate(settings.Subset));
        RandomInit.Fill(cpu, hostUnet.Parameters, 5);
        var initial = hostUnet.Parameters.Weights.AsSpan().ToArray();
        using var devWeights = e.Ops.CreateArena();
        var devUnet = new UNet2DConditionModel(Config, devWeights, TrainableSubsets.Predicate(settings.Subset));
        devWeights.Write<float>(devUnet.Parameters.Weights, initial);

        using var cpuTrainer = new ErasureTrainer(cpu, hostUnet, scheduler, inputs, settings);
        using var gpuTrainer = new ErasureTrainer(e.Ops, devUnet, scheduler, inputs, settings);
        long allocationsAfterFirstStep = 0;
        for (int step = 0; step < settings.Steps; step++)
        {
            var clock = Stopwatch.StartNew();
            var cpuRecord = cpuTrainer.TrainStep();
            double cpuSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var gpuRecord = gpuTrainer.TrainStep();
            output.WriteLine($"{settings.Method} step {step}: cpu {cpuSeconds:F2} s, emulated cuda {clock.Elapsed.TotalSeconds:F1} s; " +
                $"L_adv {gpuRecord.LossAdv} / {cpuRecord.LossAdv}, L_ret {gpuRecord.LossRet} / {cpuRecord.LossRet}, L_D {gpuRecord.LossD} / {cpuRecord.LossD}");
            CompareRecords($"{settings.Method} step {step}", gpuRecord, cpuRecord);
            if (step == 0) allocationsAfterFirstStep = e.Memory.Allocations;
        }
        // Buffers are allocated once: from the second step on, every tensor lands on memory the arenas already hold.
        Assert.Equal(allocationsAfterFirstStep, e.Memory.Allocations);

        // AdamW's first steps move every weight by about lr·sign(g) (|g| ≫ eps): an element whose gradient is at
        // rounding level can take the other sign, so a single weight may differ by up to 2·lr per step. Everything
        // else follows the gradients, whose float32 sums run in different orders on the two backends.
        float lr = settings.LearningRate;
        var got = e.Get(devUnet.Parameters.TrainableWeights);
        var want = hostUnet.Parameters.TrainableWeights.AsSpan().ToArray();
        CompareUpdates("UNet trainable weights", got, want, initial, 2 * lr * settings.Steps);
        if (cpuTrainer.Discriminator is { } hd && gpuTrainer.Discriminator is { } gd)
        {
            var dGot = e.Get(gd.Parameters.Weights);
            var dWant = hd.Parameters.Weights.AsSpan().ToArray();
            CompareUpdates("discriminator weights", dGot, dWant, null, 2 * settings.DiscriminatorLearningRate * settings.Steps);
            foreach (var ((name, g), (_, h)) in gd.Norms.Zip(hd.Norms))
                Close.Assert($"discriminator {name}.running_var", e.Get(g.RunningVar), h.RunningVar.AsSpan(), rtol: 1e-3, atol: 1e-5);
        }
    }

    /// <summary>Losses to 1e-3 relative (float32 sums in other orders through ~40 layers); cosines where they decide.</summary>
    private static void CompareRecords(string what, StepRecord got, StepRecord want)
    {
        Assert.Equal(want.Skipped, got.Skipped);
        Assert.Equal(want.Warmup, got.Warmup);
        Scalar($"{what} L_adv", got.LossAdv, want.LossAdv);
        Scalar($"{what} L_ret", got.LossRet, want.LossRet);
        Scalar($"{what} L_D", got.LossD, want.LossD);
        // Accuracies count logits on either side of 0: equal unless a logit sits at rounding level from 0.
        Scalar($"{what} D acc real", got.DAccReal, want.DAccReal, atol: 0.26);
        Scalar($"{what} D acc fake", got.DAccFake, want.DAccFake, atol: 0.26);
        Assert.Equal(want.Cosines.Length, got.Cosines.Length);
        for (int i = 0; i < want.Cosines.Length; i++)
        {
            // A cosine of two gradients: both norms carry float32 rounding; 1e-3 absolute is far above it for
            // gradients that are not at rounding level themselves.
            Scalar($"{what} cosine of tensor {i}", got.Cosines[i], want.Cosines[i], atol: 1e-3);
            // Firing is the sign of the cosine: it may differ only where the cosine is within that tolerance of 0.
            if (Math.Abs(want.Cosines[i]) > 1e-3) Assert.True(want.Fired[i] == got.Fired[i], $"{what}: tensor {i} fired {got.Fired[i]}, CPU {want.Fired[i]} (cosine {want.Cosines[i]})");
        }
        Scalar($"{what} grad norm", got.GradNorm, want.GradNorm);
    }

    private static void Scalar(string what, float got, float want, double atol = 0)
    {
        if (float.IsNaN(want))
        {
            Assert.True(float.IsNaN(got), $"{what}: {got}, CPU NaN");
            return;
        }
        double tol = Math.Max(atol, 1e-3 * Math.Abs(want) + 1e-6);
        Assert.True(Math.Abs(got - want) <= tol, $"{what}: {got}, CPU {want} (|diff| {Math.Abs(got - want):G3} > {tol:G3})");
    }

    /// <summary>
    /// Each weight within <paramref name="signFlip"/> of the CPU's; and 99 % of the updates (w − w₀, where w₀ is
    /// known) within 1 % of the largest update.
    /// </summary>
    private static void CompareUpdates(string what, float[] got, float[] want, float[]? initial, double signFlip)
    {
        Assert.Equal(want.Length, got.Length);
        int far = 0;
        double maxUpdate = 0;
        if (initial is not null)
            for (int i = 0; i < want.Length; i++) maxUpdate = Math.Max(maxUpdate, Math.Abs(want[i] - initial[i]));
        for (int i = 0; i < want.Length; i++)
        {
            double d = Math.Abs(got[i] - want[i]);
            Assert.True(float.IsFinite(got[i]) && d <= signFlip + 1e-6 * Math.Abs(want[i]), $"{what}[{i}]: {got[i]}, CPU {want[i]}");
            if (d > 0.01 * maxUpdate + 1e-7) far++;
        }
        if (initial is not null)
            Assert.True(far <= want.Length / 100, $"{what}: {far} of {want.Length} updates differ by more than 1 % of the largest ({maxUpdate:G3})");
    }

    /// <summary>Synthetic anchor images and text states (the trainer does not care where they came from).</summary>
    private static ErasureInputs Inputs() =>
        ErasureInputs.Random(images: 3, Config.InChannels, Config.SampleSize, prompts: 2, TextLength, Config.CrossAttentionDim, seed: 11);
}
