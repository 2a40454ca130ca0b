using System.CommandLine;
using Engine.Diffusion.Pipelines;
using Engine.IO;
using Engine.Ops;
using Engine.World;
using Engine.World.Classifier;
using Engine.World.Ruler;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco eval</c>: the erasure ruler (docs/world.md) on a model of the built-in world, against a base model if
/// given; or, with --prompts, the accuracy of each line of a labelled prompt file.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "diffusers folder of the (erased) model (default: models/world, searched upwards)" };
        var baseModel = new Option<string?>("--base") { Description = "diffusers folder of the model before erasure" };
        var concept = new Option<string?>("--concept") { Description = "erased concept, a shape or a style (default: star)" };
        var anchor = new Option<string?>("--anchor") { Description = "anchor concept (default: circle for shapes, plain for styles)" };
        var prompts = new Option<string?>("--prompts") { Description = "file of prompts with expected labels: prompt<TAB>shape=star colour=red" };
        var output = new Option<string?>("--out") { Description = "folder for ruler.json, ruler.md and grid.png" };
        var n = new Option<int?>("--n") { Description = "samples per prompt (default 4, or 2 with --quick)" };
        var quick = new Option<bool>("--quick") { Description = "fewer prompts and samples (about a quarter of the work)" };
        var steps = new Option<int>("--steps") { Description = "DDIM steps", DefaultValueFactory = _ => new RulerSampling().Steps };
        var cfg = new Option<float>("--cfg") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => new RulerSampling().GuidanceScale };
        var classifier = new Option<string?>("--classifier") { Description = "classifier folder (default: models/classifier, searched upwards)" };
        var seed = new Option<int>("--seed") { Description = "seed of the prompt fills and the samples", DefaultValueFactory = _ => 0 };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        Options Bind(ParseResult parse) => new(parse.GetValue(model), parse.GetValue(baseModel), parse.GetValue(concept), parse.GetValue(anchor),
            parse.GetValue(prompts), parse.GetValue(output), parse.GetValue(n), parse.GetValue(quick), new RulerSampling(parse.GetValue(steps), parse.GetValue(cfg)),
            parse.GetValue(classifier), parse.GetValue(seed), parse.GetValue(backend)!);
        return new BoundCommand<Options>("eval", "Measure an erasure on the built-in world: erasure, generalization, anchor transfer, retention, preservation, fidelity.", Bind, Run)
            { model, baseModel, concept, anchor, prompts, output, n, quick, steps, cfg, classifier, seed, backend };
    }

    /// <param name="Model">null: models/world, searched upwards</param>
    /// <param name="Base">null: no base model to compare with</param>
    /// <param name="Concept">null: star (null rather than the default, so that --prompts can refuse a --concept it would ignore)</param>
    /// <param name="Anchor">null: circle for a shape, plain for a style</param>
    /// <param name="Prompts">a labelled prompt file to score instead of the ruler; null: the ruler</param>
    /// <param name="Out">null: print only</param>
    /// <param name="N">samples per prompt; null: 4, or 2 with <paramref name="Quick"/></param>
    /// <param name="Classifier">null: models/classifier, searched upwards</param>
    public sealed record Options(string? Model, string? Base, string? Concept, string? Anchor, string? Prompts, string? Out, int? N, bool Quick,
        RulerSampling Sampling, string? Classifier, int Seed, string Backend);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        // Every check that needs no model comes first, so a bad value costs no loading and writes no --out.
        int samples = o.N ?? (o.Quick ? 2 : 4);
        if (samples < 1 || o.Sampling.Steps < 1) { error.WriteLine("eval: --n and --steps must be ≥ 1"); return 2; }
        List<LabelledPrompt>? prompts = null;
        RulerSettings? ruler = null;
        if (o.Prompts is not null)
        {
            if ((o.Concept ?? o.Anchor) is not null)
            {
                error.WriteLine("eval: --concept and --anchor choose the ruler's prompts; with --prompts they would be ignored, so leave them out");
                return 2;
            }
            try { prompts = PromptFile.Parse(File.ReadLines(o.Prompts)); }
            catch (Exception e) when (e is FormatException or IOException) { error.WriteLine($"eval: {o.Prompts}: {e.Message}"); return 2; }
        }
        else
        {
            string concept = o.Concept ?? "star";
            try
            {
                string kind = RulerPrompts.Kind(concept).Kind;
                string anchor = o.Anchor ?? (kind == "shape" ? "circle" : "plain");
                if (RulerPrompts.Kind(anchor).Kind != kind) throw new ArgumentException($"anchor '{anchor}' is not a {kind} like '{concept}'");
                ruler = (o.Quick ? RulerSettings.Quick(concept, anchor) with { Samples = samples } : new RulerSettings(concept, anchor, samples)) with { Seed = o.Seed };
            }
            catch (ArgumentException e) { error.WriteLine($"eval: {e.Message}"); return 2; }
        }
        if (o.Base is not null && !File.Exists(Path.Combine(o.Base, "model_index.json")))
        {
            error.WriteLine($"eval: --base {o.Base} is not a diffusers model folder (no model_index.json)");
            return 2;
        }

        // Every argument is checked before the backend starts (auto prints a line when it falls back to the CPU).
        string? modelDir = ResolveModel(o.Model, "eval", error);
        string? clfDir = ClassifierDir(o.Classifier, "eval", error);
        if (modelDir is null || clfDir is null) return 2;
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;
        using var clf = WorldClassifier.Load(clfDir, ops); // its files were checked above
        using var pipe = new TextToImage(modelDir, ops);
        using var basePipe = o.Base is null ? null : new TextToImage(o.Base, ops);
        var models = new Models(new PipelineSampler(pipe, o.Sampling), modelDir, basePipe is null ? null : new PipelineSampler(basePipe, o.Sampling), o.Base);
        if (o.Out is not null) Directory.CreateDirectory(o.Out);
        return prompts is not null
            ? ScorePrompts(prompts, models, clf, samples, o, output, error)
            : RunRuler(new ErasureRuler(clf, ruler!), models, o, output, error);
    }

    private sealed record Models(IWorldSampler Model, string ModelDir, IWorldSampler? Base, string? BaseDir);

    /// <summary>--prompts: each line's accuracy, for the base model (if given) and the model.</summary>
    private static int ScorePrompts(List<LabelledPrompt> list, Models m, WorldClassifier clf, int samples, Options o, TextWriter output, TextWriter error)
    {
        foreach (var (label, s, dir) in new[] { ("base", m.Base, m.BaseDir), (m.Base is null ? "model" : "erased", m.Model, m.ModelDir) })
        {
            if (s is null) continue;
            var bar = new ProgressBar(label, error);
            var rows = PromptFile.Evaluate(list, s, clf, samples, o.Seed, (d, t) => bar.Report(d, t));
            string table = PromptFile.ToTable(rows, $"{label}: {dir} ({samples} samples per prompt)");
            output.WriteLine(table);
            if (o.Out is not null) AtomicFile.WriteAllText(Path.Combine(o.Out, $"prompts-{label}.txt"), table);
        }
        return 0;
    }

    /// <summary>The erasure ruler on the model, against the base model if given.</summary>
    private static int RunRuler(ErasureRuler ruler, Models m, Options o, TextWriter output, TextWriter error)
    {
        error.WriteLine($"eval: {ruler.Prompts.Count} prompts × {ruler.Settings.Samples} samples per model, DDIM {o.Sampling.Steps} steps, guidance {o.Sampling.GuidanceScale}");
        var bars = new Dictionary<string, ProgressBar>();
        var (result, b, e2) = ruler.Run(m.Model, m.Base, (label, d, t) =>
        {
            if (!bars.TryGetValue(label, out var bar)) bars[label] = bar = new ProgressBar(label, error);
            bar.Report(d, t);
        });
        output.WriteLine(RulerReport.ToTerminal(result));
        if (o.Out is { } outDir)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, "ruler.json"), RulerReport.ToJson(result) + "\n");
            AtomicFile.WriteAllText(Path.Combine(outDir, "ruler.md"), RulerReport.ToMarkdown(result));
            RulerReport.SaveGrid(Path.Combine(outDir, "grid.png"), ruler, b, e2);
            output.WriteLine($"wrote {outDir}/ruler.json, ruler.md, grid.png (+ grid.txt)");
        }
        return 0;
    }

    /// <summary>The model folder: the given one, or models/world found upwards from the current directory; null after an error line.</summary>
    public static string? ResolveModel(string? given, string verb, TextWriter error)
    {
        string? dir = given ?? ModelSearch.FindUp(Path.Combine("models", "world"));
        if (dir is null)
        {
            error.WriteLine($"{verb}: no --model given and no models/world (with model_index.json) in the current directory or above; train it with `doco world pretrain`");
            return null;
        }
        if (!File.Exists(Path.Combine(dir, "model_index.json")))
        {
            error.WriteLine($"{verb}: {dir} is not a diffusers model folder (no model_index.json)");
            return null;
        }
        return dir;
    }

    /// <summary>The erase verb's world evaluation (WorldErasure) still reports on the console.</summary>
    public static WorldClassifier? LoadClassifier(string? given, IOps ops, string verb) => LoadClassifier(given, ops, verb, Console.Error);

    /// <summary>The classifier's folder: the given one, or models/classifier found upwards; null after an error line.</summary>
    public static string? ClassifierDir(string? given, string verb, TextWriter error)
    {
        string? dir = given ?? WorldClassifier.FindShipped();
        if (dir is null)
        {
            error.WriteLine($"{verb}: no --classifier given and no models/classifier in the current directory or above; train it with `doco world classifier`");
            return null;
        }
        if (WorldClassifier.Missing(dir) is { } why)
        {
            error.WriteLine($"{verb}: {why}");
            return null;
        }
        return dir;
    }

    /// <summary>The classifier: the given folder, or models/classifier found upwards; null after an error line.</summary>
    public static WorldClassifier? LoadClassifier(string? given, IOps ops, string verb, TextWriter error)
    {
        string? dir = ClassifierDir(given, verb, error);
        if (dir is null) return null;
        try { return WorldClassifier.Load(dir, ops); }
        catch (FileNotFoundException e) { error.WriteLine($"{verb}: {e.Message}"); return null; }
    }
}
