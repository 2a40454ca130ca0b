using System.CommandLine;
using Engine.Diffusion.Pipelines;
using Engine.World.Classifier;
using Engine.World.Ruler;

namespace Engine.Cli.Commands;

/// <summary><c>doco world quality</c>: a model's accuracy on held-out attribute triples against the quality bar.</summary>
internal static class WorldQualityCommand
{
    /// <param name="Model">null: models/world, searched upwards</param>
    /// <param name="Classifier">null: models/classifier, searched upwards</param>
    /// <param name="Grid">null: no PNG of the samples</param>
    public sealed record Options(string? Model, string? Classifier, int N, RulerSampling Sampling, string? Grid, bool Trained, string Backend);

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "diffusers folder of the model (default: models/world, searched upwards)" };
        var classifier = new Option<string?>("--classifier") { Description = "classifier folder (default: models/classifier, searched upwards)" };
        var n = new Option<int>("--n") { Description = "samples per held-out prompt", DefaultValueFactory = _ => 4 };
        var steps = new Option<int>("--steps") { Description = "DDIM steps", DefaultValueFactory = _ => new RulerSampling().Steps };
        var cfg = new Option<float>("--cfg") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => new RulerSampling().GuidanceScale };
        var grid = new Option<string?>("--grid") { Description = "also write every sample to this PNG, one row per prompt (prompts in a .txt beside it)" };
        var trained = new Option<bool>("--trained") { Description = "sample trained triples instead of held-out ones (a diagnostic, not the bar)" };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        Options Bind(ParseResult parse) => new(parse.GetValue(model), parse.GetValue(classifier), parse.GetValue(n),
            new RulerSampling(parse.GetValue(steps), parse.GetValue(cfg)), parse.GetValue(grid), parse.GetValue(trained), parse.GetValue(backend)!);
        return new BoundCommand<Options>("quality", "Check a model against the quality bar (shape ≥ 85 %, colour ≥ 90 %, style ≥ 75 % on held-out triples).", Bind, Run)
            { model, classifier, n, steps, cfg, grid, trained, backend };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        if (o.N < 1 || o.Sampling.Steps < 1)
        {
            error.WriteLine("world quality: --n and --steps must be ≥ 1");
            return 2;
        }
        // Every argument is checked before the backend starts (auto prints a line when it falls back to the CPU).
        string? modelDir = EvalCommand.ResolveModel(o.Model, "world quality", error);
        string? clfDir = EvalCommand.ClassifierDir(o.Classifier, "world quality", error);
        if (modelDir is null || clfDir is null) return 2;
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;
        using var clf = WorldClassifier.Load(clfDir, ops); // its files were checked above
        using var pipe = new TextToImage(modelDir, ops);
        var sampler = new PipelineSampler(pipe, o.Sampling);
        var bar = new ProgressBar("quality", error);
        var q = QualityBar.Measure(sampler, clf, o.N, progress: (d, t) => bar.Report(d, t), trained: o.Trained);
        output.WriteLine(o.Trained ? "trained triples (diagnostic, not the bar): " + q : q.ToString());
        foreach (var line in q.Breakdown()) output.WriteLine(line);
        if (o.Grid is { } gridPath)
        {
            q.SaveGrid(gridPath);
            output.WriteLine($"samples: {gridPath}");
        }
        return q.Passes ? 0 : 1;
    }
}
