using System.CommandLine;
using Engine.Cli.Bench;
using Engine.Cuda;
using Engine.Cuda.Ops;
using Engine.Models.Unet;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco bench kernels [--backend cuda] [--config sd15|tiny] [--batch 2] [--min-time 0.2] [--only gemm,attention]</c>:
/// gradient surgery and AdamW bandwidth against a device-to-device copy, FP32 and TF32 GEMM, attention and conv
/// forward/backward at the UNet's shapes (<see cref="KernelBench"/>). On CUDA, device time from events; on the CPU,
/// wall time.
/// </summary>
internal static class BenchKernelsCommand
{
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        var config = new Option<string>("--config") { Description = "sd15 or tiny: the UNet whose shapes are measured", DefaultValueFactory = _ => "sd15" };
        var batch = new Option<int>("--batch") { Description = "images per GEMM, attention and conv", DefaultValueFactory = _ => 2 };
        var minTime = new Option<double>("--min-time") { Description = "seconds each op is repeated for", DefaultValueFactory = _ => 0.2 };
        var only = new Option<string>("--only") { Description = "comma-separated groups to run: memory, gemm, attention, conv", DefaultValueFactory = _ => "memory,gemm,attention,conv" };
        Options Bind(ParseResult parse) => new(parse.GetValue(backend)!, parse.GetValue(config)!, parse.GetValue(batch), parse.GetValue(minTime), parse.GetValue(only)!);
        return new BoundCommand<Options>("kernels", "Kernel bandwidth and throughput at Stable Diffusion shapes.", Bind, Run) { backend, config, batch, minTime, only };
    }

    public sealed record Options(string Backend, string Config, int Batch, double MinTime, string Only = "memory,gemm,attention,conv");

    /// <summary>"gemm,attention" → the groups; null (and the bad name in <paramref name="bad"/>) for an unknown one.</summary>
    internal static KernelGroups? ParseGroups(string list, out string bad)
    {
        var groups = KernelGroups.None;
        bad = "";
        foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            KernelGroups? g = name switch
            {
                "memory" => KernelGroups.Memory,
                "gemm" => KernelGroups.Gemm,
                "attention" => KernelGroups.Attention,
                "conv" => KernelGroups.Conv,
                _ => null,
            };
            if (g is null) { bad = name; return null; }
            groups |= g.Value;
        }
        if (groups == KernelGroups.None) return null;
        return groups;
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var (backend, configName, batch, minTime, onlyList) = o;
        (UNetConfig? unet, int textLength, int size) = configName switch
        {
            "sd15" => (BenchModels.Sd15, 77, 64),
            "tiny" => (BenchModels.Tiny, 8, 16),
            _ => (null, 0, 0),
        };
        if (unet is null) { error.WriteLine($"bench kernels: unknown --config '{configName}' (sd15 or tiny)"); return 2; }
        if (batch < 1) { error.WriteLine($"bench kernels: --batch must be ≥ 1, got {batch}"); return 2; }
        if (!(minTime >= 0)) { error.WriteLine($"bench kernels: --min-time must be ≥ 0, got {minTime}"); return 2; }
        if (ParseGroups(onlyList, out string badGroup) is not { } groups)
        {
            error.WriteLine(badGroup.Length > 0
                ? $"bench kernels: unknown --only group '{badGroup}' (a comma-separated list of memory, gemm, attention, conv)"
                : "bench kernels: --only names no group (a comma-separated list of memory, gemm, attention, conv)");
            return 2;
        }
        var ops = Backends.Select(backend, error);
        if (ops is null) return 2;
        using var ownedOps = ops as IDisposable;

        CudaOps? tf32 = null;
        IBenchClock clock;
        if (ops is CudaOps { Runner: CudaContext context })
        {
            tf32 = CudaOps.Create(context, tf32: true);
            clock = new EventClock(context);
        }
        else clock = new WallClock(() => (ops as CudaOps)?.Synchronize());
        try
        {
            output.WriteLine($"bench kernels: {configName} shapes, batch {batch}, {ops.Name}; {(clock is EventClock ? "device time from CUDA events" : "wall time")}");
            new KernelBench(ops, tf32, clock, () => ops.CreateArena(), minTime, output).RunAll(unet, textLength, size, batch, groups: groups);
            return 0;
        }
        finally
        {
            tf32?.Dispose();
            (clock as IDisposable)?.Dispose();
        }
    }
}
