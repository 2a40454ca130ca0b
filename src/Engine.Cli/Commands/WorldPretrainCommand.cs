using System.CommandLine;
using System.Globalization;
using Engine.World.Pretraining;

namespace Engine.Cli.Commands;

/// <summary><c>doco world pretrain</c>: trains the built-in text-to-image model from scratch on rendered scenes (resumable).</summary>
internal static class WorldPretrainCommand
{
    /// <param name="Out">diffusers folder the model is exported to</param>
    /// <param name="State">folder of the checkpoint and loss.csv</param>
    public sealed record Options(PretrainSettings Settings, string Out, string State, bool Resume, string Backend);

    public static Command Create()
    {
        var d = new PretrainSettings();
        var steps = new Option<int>("--steps") { Description = "total optimizer steps", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => d.Batch };
        var lr = new Option<float>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var every = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints and exports", DefaultValueFactory = _ => d.CheckpointEvery };
        var seed = new Option<ulong>("--seed") { Description = "seed of the initialization and the data", DefaultValueFactory = _ => d.Seed };
        var output = new Option<string>("--out") { Description = "diffusers folder to export the model to", DefaultValueFactory = _ => "models/world" };
        var state = new Option<string>("--state") { Description = "folder for the checkpoint and the loss log", DefaultValueFactory = _ => "artifacts/world-pretrain" };
        var resume = new Option<bool>("--resume") { Description = "continue from the checkpoint in --state" };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        var styleCaptions = new Option<double?>("--style-captions") { Description = "share of non-empty captions that name the style, 0 to 1 (default: the standard mix, about a third)" };
        Options Bind(ParseResult parse) => new(
            d with
            {
                Steps = parse.GetValue(steps),
                Batch = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                CheckpointEvery = parse.GetValue(every),
                Seed = parse.GetValue(seed),
                StyleCaptionShare = parse.GetValue(styleCaptions),
            },
            parse.GetValue(output)!, parse.GetValue(state)!, parse.GetValue(resume), parse.GetValue(backend)!);
        return new BoundCommand<Options>("pretrain", "Train the built-in text-to-image model from scratch on rendered scenes.", Bind, Run)
            { steps, batch, lr, every, seed, output, state, resume, backend, styleCaptions };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var s = o.Settings;
        if (s.StyleCaptionShare is { } share && !(share is >= 0 and <= 1))
        {
            error.WriteLine($"world pretrain: --style-captions must be between 0 and 1 (got {share})");
            return 2;
        }
        if (s.Steps < 1 || s.Batch < 1 || s.CheckpointEvery < 1 || !(s.LearningRate > 0))
        {
            error.WriteLine("world pretrain: --steps, --batch and --checkpoint-every must be ≥ 1 and --lr > 0");
            return 2;
        }
        string stateDir = o.State, outDir = o.Out;
        bool hasCheckpoint = File.Exists(Path.Combine(stateDir, "checkpoint.safetensors"));
        if (!o.Resume && hasCheckpoint)
        {
            error.WriteLine($"world pretrain: {stateDir} already holds a checkpoint; pass --resume to continue it or choose another --state");
            return 2;
        }
        // Starting afresh instead would quietly overwrite --out and loss.csv with a model trained from step 0.
        if (o.Resume && !hasCheckpoint)
        {
            error.WriteLine($"world pretrain: --resume, but {stateDir} holds no checkpoint.safetensors; check --state, or leave out --resume to start afresh");
            return 2;
        }
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;
        Directory.CreateDirectory(stateDir);
        using var trainer = new WorldPretrainer(ops, s, stateDir, outDir);
        bool resumed = o.Resume && trainer.TryResume();
        output.WriteLine($"world pretrain: {trainer.ParameterCount:N0} parameters, batch {s.Batch}, lr {s.LearningRate}, {s.Steps} steps, {ops.Name}" +
            (s.StyleCaptionShare is { } sc ? $", {sc:P0} of captions name the style" : "") +
            (resumed ? $"; resumed at step {trainer.Step}" : ""));
        string csv = Path.Combine(stateDir, "loss.csv");
        var lines = File.Exists(csv) && resumed
            ? File.ReadLines(csv).Take(1 + trainer.Step).ToList() : ["step,loss,grad_norm,lr,skipped,seconds"];
        File.WriteAllLines(csv, lines);
        using var log = new StreamWriter(csv, append: true) { AutoFlush = true };
        using var cancel = new CancellationTokenSource();
        // Ctrl-C stops at the next step and saves; removed again so that a test's run leaves no handler behind.
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var bar = new ProgressBar("pretrain", error, trainer.Step);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double smooth = double.NaN;
            trainer.Train(r =>
            {
                if (!r.Skipped) smooth = double.IsNaN(smooth) ? r.Loss : 0.98 * smooth + 0.02 * r.Loss;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Step},{r.Loss},{r.GradNorm},{r.LearningRate},{(r.Skipped ? 1 : 0)},{clock.Elapsed.TotalSeconds:F1}"));
                bar.Report(r.Step, s.Steps, string.Create(CultureInfo.InvariantCulture, $"loss {smooth:F4}"));
            }, cancel.Token);
            output.WriteLine($"world pretrain: stopped at step {trainer.Step} after {clock.Elapsed.TotalMinutes:F1} min; model in {outDir}, checkpoint in {stateDir}");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
