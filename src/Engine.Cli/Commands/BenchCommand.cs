using System.CommandLine;
using System.Diagnostics;
using Engine.Cli.Bench;
using Engine.Diffusion.Training;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Ops.Profiling;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco bench unet --config sd15|tiny|toy [--batch N] [--size H] [--steps S] [--train all|attention|kv]</c>:
/// a UNet and text encoder with random weights; time per training step (text encoder forward, UNet forward,
/// MSE, UNet backward, and with --train all the text encoder's backward too) and peak memory.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "sd15, tiny or toy", DefaultValueFactory = _ => "tiny" };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 1 };
        var size = new Option<int?>("--size") { Description = "latent height and width (default: 64 for sd15, 16 for tiny, 32 for toy)" };
        var steps = new Option<int>("--steps") { Description = "timed steps after one warm-up step", DefaultValueFactory = _ => 2 };
        var train = new Option<string>("--train") { Description = "trainable UNet parameters: all, attention or kv", DefaultValueFactory = _ => "all" };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        var profile = new Option<bool>("--profile") { Description = "time every op by family (conv, GEMM, attention, norms, elementwise, optimizer) against this machine's SGEMM rate and STREAM triad" };
        UNetOptions Bind(ParseResult parse) => new(parse.GetValue(config)!, parse.GetValue(batch), parse.GetValue(size), parse.GetValue(steps),
            parse.GetValue(train)!, parse.GetValue(backend)!, parse.GetValue(profile));
        var unet = new BoundCommand<UNetOptions>("unet", "Time a UNet training step with random weights.", Bind, RunUNet) { config, batch, size, steps, train, backend, profile };
        return new Command("bench", "Benchmarks of whole model steps.") { unet, BenchDocoCommand.Create(), BenchKernelsCommand.Create() };
    }

    /// <param name="Size">null: the config's own latent size</param>
    public sealed record UNetOptions(string Config, int Batch, int? Size, int Steps, string Train, string Backend, bool Profile = false);

    public static int RunUNet(UNetOptions o, TextWriter output, TextWriter error)
    {
        var (configName, batch, givenSize, steps, train, backend, profile) = o;
        (UNetConfig unetConfig, ClipTextConfig textConfig, int defaultSize) = configName switch
        {
            "sd15" => (BenchModels.Sd15, new ClipTextConfig(), 64),
            "tiny" => (BenchModels.Tiny, new ClipTextConfig(32, 37, 5, 4, 1000), 16),
            // The built-in world's model (docs/world.md): pixel space, 32×32, cross-attention at the two lower resolutions.
            "toy" => (WorldModel.UNet, WorldModel.TextEncoder(512), WorldModel.ImageSize),
            _ => (null!, null!, 0),
        };
        if (unetConfig is null) { error.WriteLine($"bench: unknown --config '{configName}' (sd15, tiny or toy)"); return 2; }
        Func<string, bool>? trainable = train switch
        {
            "all" => _ => true,
            "attention" => n => n.Contains(".attn", StringComparison.Ordinal),
            "kv" => n => n.Contains(".attn2.to_k", StringComparison.Ordinal) || n.Contains(".attn2.to_v", StringComparison.Ordinal),
            _ => null,
        };
        if (trainable is null) { error.WriteLine($"bench: unknown --train '{train}' (all, attention or kv)"); return 2; }
        if (batch < 1 || steps < 1) { error.WriteLine("bench: --batch and --steps must be ≥ 1"); return 2; }
        // Each level but the last halves H and W; a size that is not a positive multiple is refused, not replaced.
        int size = givenSize ?? defaultSize, multiple = 1 << (unetConfig.BlockOutChannels.Length - 1);
        if (size < 1 || size % multiple != 0)
        {
            error.WriteLine($"bench: --size must be a positive multiple of {multiple} for --config {configName}, got {size}");
            return 2;
        }
        var ops = Backends.Select(backend, error);
        if (ops is null) return 2;
        using var ownedOps = ops as IDisposable; // CudaOps owns the context: disposed after the arenas below

        // Host arenas for the CPU, device arenas for CudaOps: the models run unchanged on either.
        using var parameters = ops.CreateArena();
        using var activations = ops.CreateArena();
        using var gradients = ops.CreateArena();
        var setup = Stopwatch.StartNew();
        var model = new UNet2DConditionModel(unetConfig, parameters, trainable);
        // With --train all the text encoder trains too, so the step back-propagates through both models.
        var text = new ClipTextModel(textConfig, parameters, train == "all" ? _ => true : null);
        RandomInit.Fill(ops, model.Parameters, 1);
        RandomInit.Fill(ops, text.Parameters, 2);
        var opProfile = new OpProfile();
        var stepOps = o.Profile ? new ProfilingOps(ops, opProfile) : ops;
        var step = new NoisePredictionStep(stepOps, text, model, parameters, new Workspace(stepOps, activations, gradients), batch, size);
        var layout = model.Parameters.Layout;
        output.WriteLine($"unet {configName}: {layout.TotalCount:N0} parameters ({layout.TrainableCount:N0} trainable: {train}), text encoder {text.Parameters.Layout.TotalCount:N0}; " +
            $"latents {step.Latents.Shape}, {ops.Name}; setup {setup.Elapsed.TotalSeconds:F1} s");

        var times = new List<StepPhases>();
        bool textTrains = !text.Parameters.Grads.IsNone;
        for (int i = 0; i <= steps; i++)
        {
            var t = step.Run();
            output.WriteLine($"  step {i}{(i == 0 ? " (warm-up)" : "")}: text {t.Text * 1e3:F0} ms, unet forward {t.Forward * 1e3:F0} ms, " +
                $"unet backward {t.Backward * 1e3:F0} ms{(textTrains ? $", text backward {t.TextBackward * 1e3:F0} ms" : "")}");
            if (i > 0) times.Add(t);
            if (i == 0) opProfile.Clear();
        }
        double mean = times.Average(t => t.Total);
        long peakRss = PeakRssBytes();
        output.WriteLine($"time per training step: {mean:F3} s (mean of {steps}; text {times.Average(t => t.Text):F3}, unet forward {times.Average(t => t.Forward):F3}, unet backward {times.Average(t => t.Backward):F3}, text backward {times.Average(t => t.TextBackward):F3})");
        output.WriteLine($"memory: parameters+inputs {Gb(parameters.Peak)}, activations {Gb(activations.Peak)}, gradients {Gb(gradients.Peak)}; process peak RSS {Gb(peakRss)}{DevicePeak(ops)}");
        if (profile) output.WriteLine(opProfile.Table(Roofline.Measure(ops), steps));
        return 0;
    }

    internal static string Gb(long bytes) => $"{bytes / (1024.0 * 1024 * 1024):F2} GiB";

    /// <summary>"; device peak N GiB" for a backend that holds device memory (CUDA), else nothing.</summary>
    internal static string DevicePeak(IOps ops) => ops is IDeviceMemoryMeter m ? $"; device peak {Gb(m.DevicePeakBytes)}" : "";

    /// <summary>VmHWM from /proc (Linux); 0 elsewhere.</summary>
    internal static long PeakRssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
