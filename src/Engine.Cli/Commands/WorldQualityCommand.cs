using System.CommandLine;
using Engine.Models.Pipelines;
using Engine.World.Ruler;

namespace Engine.Cli.Commands;

/// <summary><c>doco world quality</c>: a model's accuracy on held-out attribute triples against the quality bar.</summary>
internal static class WorldQualityCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "diffusers folder of the model (default: models/world, searched upwards)" };
        var classifier = new Option<string?>("--classifier") { Description = "classifier folder (default: models/classifier, searched upwards)" };
        var n = new Option<int>("--n") { Description = "samples per held-out prompt", DefaultValueFactory = _ => 4 };
        var steps = new Option<int>("--steps") { Description = "DDIM steps", DefaultValueFactory = _ => new RulerSampling().Steps };
        var cfg = new Option<float>("--cfg") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => new RulerSampling().GuidanceScale };
        var grid = new Option<string?>("--grid") { Description = "also write every sample to this PNG, one row per prompt (prompts in a .txt beside it)" };
        var trained = new Option<bool>("--trained") { Description = "sample trained triples instead of held-out ones (a diagnostic, not the bar)" };
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("quality", "Check a model against the quality bar (shape ≥ 85 %, colour ≥ 90 %, style ≥ 75 % on held-out triples).")
            { model, classifier, n, steps, cfg, grid, trained, backend };
        cmd.SetAction(parse =>
        {
            var ops = Backends.Select(parse.GetValue(backend)!, Console.Error);
            if (ops is null) return 2;
            string? modelDir = EvalCommand.ResolveModel(parse.GetValue(model), "world quality");
            using var clf = EvalCommand.LoadClassifier(parse.GetValue(classifier), ops, "world quality");
            if (modelDir is null || clf is null) return 2;
            using var pipe = new TextToImage(modelDir, ops);
            var sampler = new PipelineSampler(pipe, new RulerSampling(parse.GetValue(steps), parse.GetValue(cfg)));
            var bar = new ProgressBar("quality", Console.Error);
            var q = QualityBar.Measure(sampler, clf, parse.GetValue(n), progress: (d, t) => bar.Report(d, t), trained: parse.GetValue(trained));
            Console.WriteLine(parse.GetValue(trained) ? "trained triples (diagnostic, not the bar): " + q : q.ToString());
            foreach (var line in q.Breakdown()) Console.WriteLine(line);
            if (parse.GetValue(grid) is { } gridPath)
            {
                q.SaveGrid(gridPath);
                Console.WriteLine($"samples: {gridPath}");
            }
            return q.Passes ? 0 : 1;
        });
        return cmd;
    }
}
