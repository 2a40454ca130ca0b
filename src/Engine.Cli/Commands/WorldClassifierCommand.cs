using System.CommandLine;
using System.Diagnostics;
using Engine.World.Classifier;

namespace Engine.Cli.Commands;

/// <summary><c>doco world classifier</c>: trains the world's classifier and writes it with its measured accuracy.</summary>
internal static class WorldClassifierCommand
{
    public static Command Create()
    {
        var d = new ClassifierSettings();
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => d.Batch };
        var lr = new Option<float>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var seed = new Option<int>("--seed") { Description = "seed of the initialization and the data", DefaultValueFactory = _ => d.Seed };
        var evalN = new Option<int>("--eval") { Description = "fresh images per accuracy measurement", DefaultValueFactory = _ => d.EvalImages };
        var output = new Option<string>("--out") { Description = "folder to write classifier.safetensors and config.json to", DefaultValueFactory = _ => "models/classifier" };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        Options Bind(ParseResult parse) => new(
            d with
            {
                Steps = parse.GetValue(steps),
                Batch = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                EvalImages = parse.GetValue(evalN),
            },
            parse.GetValue(output)!, parse.GetValue(backend)!);
        return new BoundCommand<Options>("classifier", "Train the classifier that labels shape, colour and style (the ruler's reader).", Bind, Run)
            { steps, batch, lr, seed, evalN, output, backend };
    }

    /// <param name="Out">folder for classifier.safetensors and config.json</param>
    public sealed record Options(ClassifierSettings Settings, string Out, string Backend);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var s = o.Settings;
        if (s.Steps < 1 || s.Batch < 2 || s.EvalImages < 1 || !(s.LearningRate > 0))
        {
            error.WriteLine("world classifier: --steps and --eval must be ≥ 1, --batch ≥ 2 and --lr > 0");
            return 2;
        }
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;
        var config = new ClassifierConfig();
        using var model = new WorldClassifier(config, ops, trainable: true);
        output.WriteLine($"world classifier: {model.Parameters.Layout.TotalCount:N0} parameters, {s.Steps} steps of {s.Batch}, lr {s.LearningRate}, {ops.Name}");
        var bar = new ProgressBar("classifier", error);
        var clock = Stopwatch.StartNew();
        double loss = ClassifierTrainer.Train(model, s, (step, l) => bar.Report(step, s.Steps, $"loss {l:F4}"));
        double seconds = clock.Elapsed.TotalSeconds;
        var clean = ClassifierTrainer.Evaluate(model, s.EvalImages, s.Seed + 1000, augmented: false);
        var augmented = ClassifierTrainer.Evaluate(model, s.EvalImages, s.Seed + 2000, augmented: true);
        output.WriteLine($"trained in {seconds:F0} s, final loss {loss:F4}");
        output.WriteLine($"accuracy on {s.EvalImages} fresh renders: {clean}");
        output.WriteLine($"accuracy on {s.EvalImages} augmented renders: {augmented}");
        string dir = o.Out;
        string command = $"doco world classifier --steps {s.Steps} --batch {s.Batch} --lr {s.LearningRate} --seed {s.Seed}";
        model.Save(dir, config with
        {
            Training = new ClassifierTraining(s.Steps, s.Batch, s.LearningRate, s.Seed, Math.Round(loss, 5), Math.Round(seconds, 1), command),
            AccuracyClean = clean,
            AccuracyAugmented = augmented,
        });
        output.WriteLine($"wrote {dir}");
        return 0;
    }
}
