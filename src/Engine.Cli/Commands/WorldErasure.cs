using System.Text.Json.Nodes;
using Engine.Diffusion.Pipelines;
using Engine.IO;
using Engine.Ops;
using Engine.World.Ruler;

namespace Engine.Cli.Commands;

/// <summary>The ruler on base and erased model after an erase: terminal table, ruler.json/md, grid.png, metrics into the manifest.</summary>
internal static class WorldEvaluation
{
    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// The ruler an erase runs (--quick: one sample per prompt, one fill per template, 4 DDIM steps); ArgumentException
    /// when the ruler does not know the concept.
    /// </summary>
    public static (RulerSettings Ruler, RulerSampling Sampling) Settings(string concept, string anchor, bool quick, int rulerSeed)
    {
        RulerPrompts.Kind(concept);
        var ruler = (quick ? RulerSettings.Quick(concept, anchor) with { Samples = 1 } : new RulerSettings(concept, anchor)) with { Seed = rulerSeed };
        return (ruler, quick ? new RulerSampling(Steps: 4) : new RulerSampling());
    }

    /// <summary>Images the ruler samples from one model: each of its prompts, Samples times.</summary>
    public static int Images(RulerSettings ruler) => RulerPrompts.Build(ruler.Concept, ruler.PerTemplate, ruler.PerConcept, ruler.Seed).Count * ruler.Samples;

    /// <param name="cacheDir">where the base model's ruler samples are kept between runs (<see cref="CachedSampler"/>)</param>
    public static int Run(string baseDir, string erasedDir, string outDir, string cacheDir, string concept, string anchor, bool quick, int rulerSeed, IOps ops, TextWriter output, TextWriter error)
    {
        using var clf = EvalCommand.LoadClassifier(null, ops, "erase");
        if (clf is null) return 2;
        RulerSettings settings;
        RulerSampling sampling;
        try
        {
            (settings, sampling) = Settings(concept, anchor, quick, rulerSeed);
        }
        catch (ArgumentException bad)
        {
            error.WriteLine($"erase: no evaluation: {bad.Message}");
            return 0;
        }
        using var basePipe = new TextToImage(baseDir, ops);
        using var pipe = new TextToImage(erasedDir, ops);
        var ruler = new ErasureRuler(clf, settings);
        var bars = new Dictionary<string, ProgressBar>();
        var baseSampler = new CachedSampler(new PipelineSampler(basePipe, sampling), cacheDir, baseDir, sampling);
        var (result, b, e) = ruler.Run(new PipelineSampler(pipe, sampling), baseSampler, (label, d, t) =>
        {
            if (!bars.TryGetValue(label, out var bar)) bars[label] = bar = new ProgressBar("eval " + label, error);
            bar.Report(d, t);
        });
        if (baseSampler.LastFromCache) output.WriteLine($"erase: the base model's ruler samples from {baseSampler.LastPath}");
        output.WriteLine(RulerReport.ToTerminal(result));
        string json = RulerReport.ToJson(result);
        AtomicFile.WriteAllText(Path.Combine(outDir, "ruler.json"), json + "\n");
        AtomicFile.WriteAllText(Path.Combine(outDir, "ruler.md"), RulerReport.ToMarkdown(result));
        RulerReport.SaveGrid(Path.Combine(outDir, "grid.png"), ruler, b, e);
        string manifestPath = Path.Combine(outDir, "manifest.json");
        if (File.Exists(manifestPath) && JsonNode.Parse(File.ReadAllText(manifestPath)) is JsonObject manifest)
        {
            manifest["metrics"] = JsonNode.Parse(json);
            AtomicFile.WriteAllText(manifestPath, manifest.ToJsonString(Indented) + "\n");
        }
        output.WriteLine($"erase: wrote {outDir}/ruler.json, ruler.md and grid.png (before/after, same seeds)");
        return 0;
    }
}
