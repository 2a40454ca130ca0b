using System.CommandLine;
using System.Globalization;
using Engine.IO;
using Engine.Unlearning;
using Engine.Unlearning.Telemetry;
using Engine.World;
using Engine.World.Ruler;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco compare</c>: the paper's comparison on the built-in world — DoCo, DoCo without domain correction, DoCo
/// without the concept-preserving gradient, Concept Ablation and ESD — over several seeds, each measured by the ruler
/// against the base model. Two protocols: <c>paper</c> gives each method its own recipe from the spec (steps, learning
/// rate, batch; DoCo's warm-up and discriminator rate), all scaled to the world by one common factor
/// (<see cref="WorldErasureDefaults.PaperRecipe"/>), plus DoCo with the world's own defaults; <c>equal-updates</c> gives
/// every method the world's settings and the same number of UNet updates. Writes one folder per method and seed,
/// results.md and pareto.png.
/// </summary>
internal static class CompareCommand
{
    private sealed record Variant(string Name, string Label, ErasureMethod Method, string? Surgery, bool NoDomainCorrection, bool WorldDefaults = false);

    private static readonly Variant[] Variants =
    [
        new("doco", "DoCo", ErasureMethod.DoCo, "projection", false),
        new("doco-no-dc", "DoCo without domain correction", ErasureMethod.DoCo, "projection", true),
        new("doco-no-cpg", "DoCo without concept-preserving gradient", ErasureMethod.DoCo, "none", false),
        new("ca", "Concept Ablation", ErasureMethod.ConceptAblation, null, false),
        new("esd", "ESD-x", ErasureMethod.Esd, null, false),
        new("doco-world", "DoCo, world defaults", ErasureMethod.DoCo, null, false, WorldDefaults: true),
    ];

    public sealed record Options
    {
        public string Protocol { get; init; } = "paper";
        public int Updates { get; init; } = 80;
        public string Seeds { get; init; } = "42,1,2";
        public string Concept { get; init; } = "star";
        public string Anchor { get; init; } = "circle";
        public string Type { get; init; } = "object";
        public string? Only { get; init; }
        public bool Quick { get; init; }
        public string Out { get; init; } = "compare";
        public int RulerSeed { get; init; }
        /// <summary>Rebuild results.md and pareto.png from the finished runs in Out, training nothing.</summary>
        public bool ReportOnly { get; init; }
    }

    public static Command Create()
    {
        var protocol = new Option<string>("--protocol") { Description = "paper: each method's own recipe, scaled to the world by one factor; equal-updates: the world's settings and --updates UNet updates for all", DefaultValueFactory = _ => "paper" };
        var updates = new Option<int>("--updates") { Description = "equal-updates: UNet updates per method (DoCo adds half as many discriminator-only warm-up steps)", DefaultValueFactory = _ => 80 };
        var seeds = new Option<string>("--seeds") { Description = "comma-separated seeds; every method runs once per seed", DefaultValueFactory = _ => "42,1,2" };
        var concept = new Option<string>("--concept") { Description = "concept to erase", DefaultValueFactory = _ => "star" };
        var anchor = new Option<string>("--anchor") { Description = "anchor concept", DefaultValueFactory = _ => "circle" };
        var type = new Option<string>("--type") { Description = "object or style", DefaultValueFactory = _ => "object" };
        var only = new Option<string>("--only") { Description = "comma-separated subset of: " + string.Join(", ", Variants.Select(v => v.Name)) };
        var quick = new Option<bool>("--quick") { Description = "shortened runs and the quick ruler (for CI)" };
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "compare" };
        var rulerSeed = new Option<int>("--ruler-seed") { Description = "the ruler's seed (its prompt fills and sample seeds)", DefaultValueFactory = _ => 0 };
        var reportOnly = new Option<bool>("--report-only") { Description = "rebuild results.md and pareto.png from the finished runs already in --out, training nothing" };
        Options Bind(ParseResult p) => new()
        {
            Protocol = p.GetValue(protocol)!,
            Updates = p.GetValue(updates),
            Seeds = p.GetValue(seeds)!,
            Concept = p.GetValue(concept)!,
            Anchor = p.GetValue(anchor)!,
            Type = p.GetValue(type)!,
            Only = p.GetValue(only),
            Quick = p.GetValue(quick),
            Out = p.GetValue(output)!,
            RulerSeed = p.GetValue(rulerSeed),
            ReportOnly = p.GetValue(reportOnly),
        };
        return new BoundCommand<Options>("compare", "Run DoCo, its two ablations, Concept Ablation and ESD on the built-in world over several seeds and tabulate the ruler.", Bind, Run)
            { protocol, updates, seeds, concept, anchor, type, only, quick, output, rulerSeed, reportOnly };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(o);
        var commandClock = System.Diagnostics.Stopwatch.StartNew(); // the report's time in all
        int Fail(string message)
        {
            error.WriteLine($"compare: {message}");
            return 2;
        }
        if (o.Protocol is not ("paper" or "equal-updates")) return Fail($"--protocol '{o.Protocol}' is not one of paper, equal-updates");
        bool paper = o.Protocol == "paper";
        if (o.Updates < 1) return Fail("--updates must be ≥ 1");
        if (o.Type is not ("object" or "style")) return Fail($"--type '{o.Type}' is not one of object, style");
        var seeds = new List<ulong>();
        foreach (var part in o.Seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ulong s)) return Fail($"--seeds: '{part}' is not a seed (a whole number ≥ 0)");
            if (!seeds.Contains(s)) seeds.Add(s);
        }
        if (seeds.Count == 0) return Fail("--seeds names no seed");
        var chosen = Variants.Where(v => paper || !v.WorldDefaults).ToList();
        if (o.Only is not null)
        {
            var names = o.Only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => chosen.All(v => v.Name != n)).ToList();
            if (unknown.Count > 0) return Fail($"unknown --only {string.Join(", ", unknown)} (one of {string.Join(", ", chosen.Select(v => v.Name))})");
            chosen = [.. chosen.Where(v => names.Contains(v.Name))];
        }
        if (!o.ReportOnly) Directory.CreateDirectory(o.Out);
        var runs = new List<ComparisonRun>();
        foreach (var v in chosen)
            foreach (var seed in seeds)
            {
                string dir = Path.Combine(o.Out, v.Name, $"seed-{seed}");
                string rulerPath = Path.Combine(dir, "ruler.json"), secondsPath = Path.Combine(dir, SecondsFile);
                double seconds;
                if (o.ReportOnly)
                {
                    if (!File.Exists(rulerPath)) return Fail($"--report-only: no finished run in {dir} (no ruler.json)");
                    seconds = File.Exists(secondsPath) && double.TryParse(File.ReadAllText(secondsPath), CultureInfo.InvariantCulture, out double s) ? s : double.NaN;
                }
                else
                {
                    output.WriteLine($"compare: === {v.Label}, seed {seed} ===");
                    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    int code = EraseCommand.Run(EraseOptions(v, seed, o, paper, dir), output, error);
                    if (code != 0) { error.WriteLine($"compare: {v.Name} seed {seed} failed with exit code {code}"); return code; }
                    seconds = clock.Elapsed.TotalSeconds;
                    AtomicFile.WriteAllText(secondsPath, seconds.ToString("R", CultureInfo.InvariantCulture));
                }
                var ruler = File.Exists(rulerPath) ? RulerReport.FromJson(File.ReadAllText(rulerPath)) : null;
                runs.Add(new ComparisonRun(v.Name, v.Label, seed, ruler, seconds, FinalDiscriminatorAccuracy(Path.Combine(dir, TrainingLog.FileName))));
            }
        var c = CultureInfo.InvariantCulture;
        string budget = o.Quick ? ", quick runs"
            : paper ? string.Create(c, $" (steps ×{WorldErasureDefaults.StepScale:G3}, learning rates ×{WorldErasureDefaults.LearningRateScale:G3})")
            : string.Create(c, $", {o.Updates} UNet updates per method");
        string command = $"doco compare --protocol {o.Protocol}{(paper ? "" : string.Create(c, $" --updates {o.Updates}"))} --seeds {string.Join(',', seeds)}";
        string heading = $"Erase '{o.Concept}' (anchor '{o.Anchor}') from the built-in model; protocol {o.Protocol}{budget}; seeds {string.Join(", ", seeds)}; "
            + string.Create(c, $"ruler seed {o.RulerSeed}. Command: `{command}`.");
        string md = ComparisonReport.Markdown(runs, heading) + "\nPareto plot: [pareto.png](pareto.png). Grids (base left, erased right, same seeds): "
            + string.Join(", ", runs.Select(r => $"[{r.Variant} {r.Seed}]({r.Variant}/seed-{r.Seed}/grid.png)")) + ".\n";
        AtomicFile.WriteAllText(Path.Combine(o.Out, "results.md"), md);
        Engine.Reports.Plots.ParetoPlot.Write(Path.Combine(o.Out, "pareto.png"), runs);
        string page = Engine.Reports.Pages.CompareReport.Write(o.Out, $"Comparison: erase '{o.Concept}' (anchor '{o.Anchor}')", ComparisonReport.Markdown(runs, heading),
            [.. runs.Select(r => new Engine.Reports.Pages.CompareReport.Run($"{r.Label}, seed {r.Seed}", Path.Combine(o.Out, r.Variant, $"seed-{r.Seed}")))],
            new(commandClock.Elapsed.TotalSeconds, BenchCommand.PeakRssBytes()));
        output.WriteLine(md);
        output.WriteLine($"compare: wrote {Path.Combine(o.Out, "results.md")}, pareto.png and {page}");
        return 0;
    }

    /// <summary>Each run's wall time (training and ruler), kept beside it for --report-only.</summary>
    private const string SecondsFile = "compare-seconds.txt";

    /// <summary>The erase command line of one method and seed under the chosen protocol.</summary>
    private static EraseCommand.Options EraseOptions(Variant v, ulong seed, Options o, bool paper, string dir)
    {
        bool adversarial = v.Method == ErasureMethod.DoCo && !v.NoDomainCorrection;
        var e = new EraseCommand.Options
        {
            Concept = o.Concept,
            Anchor = o.Anchor,
            Type = o.Type,
            Method = v.Method switch { ErasureMethod.DoCo => "doco", ErasureMethod.ConceptAblation => "ca", _ => "esd" },
            Surgery = v.Surgery,
            NoDomainCorrection = v.NoDomainCorrection,
            Out = dir,
            Cache = Path.Combine(o.Out, "cache"),
            Seed = seed,
            Eval = true,
            Quick = o.Quick,
            RulerSeed = o.RulerSeed,
        };
        if (o.Quick || v.WorldDefaults) return e;
        if (!paper)
            return e with { Steps = adversarial ? o.Updates + o.Updates / 2 : o.Updates, Warmup = adversarial ? o.Updates / 2 : 0 };
        var recipe = WorldErasureDefaults.PaperRecipe(v.Method, o.Type == "style");
        // The ablation without domain correction has no discriminator: its UNet trains from the first step.
        int warmup = adversarial ? recipe.Warmup : 0;
        return e with
        {
            Steps = adversarial ? recipe.Steps : recipe.Steps - recipe.Warmup,
            Warmup = warmup,
            Batch = recipe.Batch,
            Lr = recipe.LearningRate,
            Dlr = recipe.DiscriminatorLearningRate,
        };
    }

    /// <summary>The discriminator's accuracy (real and fake averaged) over the last 20 logged steps; NaN without one.</summary>
    private static float FinalDiscriminatorAccuracy(string csv)
    {
        if (!File.Exists(csv)) return float.NaN;
        var table = TelemetryTable.Read(csv);
        var real = table.Numbers("d_acc_real");
        var fake = table.Numbers("d_acc_fake");
        var v = Enumerable.Range(Math.Max(0, real.Length - 20), Math.Min(20, real.Length)).Select(i => (real[i] + fake[i]) / 2).Where(double.IsFinite).ToList();
        return v.Count == 0 ? float.NaN : (float)v.Average();
    }
}
