using System.CommandLine;
using System.Globalization;
using Engine.Cli.Bench;
using Engine.Diffusion.Schedulers;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Ops.Profiling;
using Engine.Unlearning;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco bench doco --config tiny|sd15 [--steps N] [--batch B]</c>: time per DoCo training step (after warm-up, with the
/// projection surgery) and its parts, on random weights, random anchor latents and random text states; kv trainable.
/// sd15: UNetConfig() and CLIP-L width, 64×64 latents.
/// </summary>
internal static class BenchDocoCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "sd15, tiny or world", DefaultValueFactory = _ => "tiny" };
        var steps = new Option<int>("--steps") { Description = "timed steps after one untimed step", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "batch B (the UNet sees 2B)", DefaultValueFactory = _ => 1 };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        var profile = new Option<bool>("--profile") { Description = "time every op by family (conv, GEMM, attention, norms, elementwise, optimizer) against this machine's SGEMM rate and STREAM triad" };
        Options Bind(ParseResult parse) => new(parse.GetValue(config)!, parse.GetValue(steps), parse.GetValue(batch), parse.GetValue(backend)!, parse.GetValue(profile));
        return new BoundCommand<Options>("doco", "Time a DoCo training step (random weights).", Bind, Run) { config, steps, batch, backend, profile };
    }

    public sealed record Options(string Config, int Steps, int Batch, string Backend, bool Profile = false);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var (configName, steps, batch, backend, profile) = o;
        (UNetConfig? unetConfig, int textDim, int size) = configName switch
        {
            "sd15" => (BenchModels.Sd15, 768, 64),
            // tiny-sd's shape; 32×32 latents, the smallest the PatchGAN's three stride-2 layers and 4×4 head accept.
            "tiny" => (BenchModels.Tiny, 32, 32),
            // The built-in world's model (docs/world.md): pixel space, 32×32, its text encoder 64 wide.
            "world" => (WorldModel.UNet, WorldModel.TextEncoder(512).HiddenSize, WorldModel.ImageSize),
            _ => (null, 0, 0),
        };
        if (unetConfig is null) { error.WriteLine($"bench doco: unknown --config '{configName}' (sd15, tiny or world)"); return 2; }
        if (steps < 1 || batch < 1) { error.WriteLine("bench doco: --steps and --batch must be ≥ 1"); return 2; }
        var device = Backends.Select(backend, error);
        if (device is null) return 2;
        var opProfile = new OpProfile();
        IOps ops = profile ? new ProfilingOps(device, opProfile) : device;

        using var parameters = ops.CreateArena();
        var unet = new UNet2DConditionModel(unetConfig, parameters, TrainableSubsets.Predicate(TrainableSubset.KeyValue));
        RandomInit.Fill(ops, unet.Parameters, 1);
        int c = unetConfig.InChannels;
        var inputs = ErasureInputs.Random(images: 8, c, size, prompts: 4, length: 77, textDim, seed: 2);
        var settings = new ErasureSettings { Steps = steps + 1, Warmup = 0, Batch = batch, CheckpointInterval = 0 };
        using var trainer = new ErasureTrainer(ops, unet, new SchedulerConfig { BetaSchedule = "scaled_linear", BetaStart = 0.00085, BetaEnd = 0.012 }, inputs, settings);
        var layout = unet.Parameters.Layout;
        output.WriteLine($"doco step {configName}: unet {layout.TotalCount:N0} parameters ({layout.TrainableCount:N0} trainable, {layout.TrainableSegments.Count} tensors: kv), " +
            $"discriminator {trainer.Discriminator!.Parameters.Layout.TotalCount:N0}; batch {batch} (UNet 2×{batch}), latents {c}×{size}×{size}; {ops.Name}");
        var records = new List<(StepRecord R, double Total)>();
        for (int i = 0; i <= steps; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var r = trainer.TrainStep();
            double total = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {i}{(i == 0 ? " (untimed)" : "")}: {total:F3} s = anchor {r.AnchorSeconds:F3} + trainable {r.TrainableSeconds:F3} + backward ×2 {r.BackwardSeconds:F3} + D {r.DiscriminatorSeconds:F3} + surgery {r.SurgerySeconds:F4} + optimizer {r.OptimizerSeconds:F4} (+ batch/x0); L_adv {r.LossAdv:F3} L_ret {r.LossRet:F4}"));
            if (i > 0) records.Add((r, total));
            if (i == 0) opProfile.Clear();
        }
        double Mean(Func<StepRecord, double> f) => records.Average(x => f(x.R));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"time per DoCo step: {records.Average(x => x.Total):F3} s (mean of {steps}; anchor pass {Mean(r => r.AnchorSeconds):F3}, trainable pass {Mean(r => r.TrainableSeconds):F3}, " +
            $"backward ×2 {Mean(r => r.BackwardSeconds):F3}, discriminator {Mean(r => r.DiscriminatorSeconds):F3}, surgery {Mean(r => r.SurgerySeconds):F4}, optimizer {Mean(r => r.OptimizerSeconds):F4})"));
        output.WriteLine($"memory: process peak RSS {BenchCommand.Gb(BenchCommand.PeakRssBytes())}{BenchCommand.DevicePeak(device)}");
        if (profile) output.WriteLine(opProfile.Table(Roofline.Measure(device), steps));
        return 0;
    }
}
