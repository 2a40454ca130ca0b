using System.CommandLine;
using System.Globalization;
using Engine.IO.Images;
using Engine.World;
using Engine.World.Pretraining;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco world render|pretrain|classifier|quality</c>: the built-in world (docs/world.md). <c>render</c> draws random scenes as a PNG
/// grid with their captions; <c>pretrain</c> trains the built-in text-to-image model from scratch (resumable).
/// </summary>
internal static class WorldCommand
{
    public static Command Create()
    {
        var world = new Command("world", "The built-in world: render scenes, pretrain the built-in model.");
        world.Subcommands.Add(CreateRender());
        world.Subcommands.Add(CreatePretrain());
        world.Subcommands.Add(CreateDenoise());
        world.Subcommands.Add(WorldClassifierCommand.Create());
        world.Subcommands.Add(WorldQualityCommand.Create());
        return world;
    }

    private static Command CreateRender()
    {
        var n = new Option<int>("--n") { Description = "number of scenes", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "scene seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "PNG grid to write", DefaultValueFactory = _ => "world.png" };
        var cmd = new Command("render", "Render random scenes of the world into a PNG grid and print their captions.") { n, seed, output };
        cmd.SetAction(parse =>
        {
            int count = parse.GetValue(n);
            if (count < 1) { Console.Error.WriteLine("world render: --n must be ≥ 1"); return 2; }
            var rng = new Random(parse.GetValue(seed));
            using var renderer = new WorldRenderer(WorldModel.ImageSize);
            var images = new float[count * renderer.ImageNumel];
            for (int i = 0; i < count; i++)
            {
                var scene = Scene.Sample(rng, renderer.Size);
                renderer.Render(scene, images.AsSpan(i * renderer.ImageNumel, renderer.ImageNumel));
                Console.WriteLine($"{i,3}: {Captions.ForPretraining(scene, rng),-50} [{scene}]");
            }
            var (rgb, w, h) = ImageGrid.Compose(images, count, 3, renderer.Size, renderer.Size);
            Png.Save(parse.GetValue(output)!, rgb, w, h);
            Console.WriteLine($"wrote {parse.GetValue(output)} ({count} scenes, {w}×{h})");
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The model's one-step denoising error on fresh renders at several noise levels: ε-MSE (the training loss) and
    /// the x0 error it implies. A quick health check that needs no classifier.
    /// </summary>
    private static Command CreateDenoise()
    {
        var model = new Option<string>("--model") { Description = "a built-in world model folder", DefaultValueFactory = _ => "models/world" };
        var n = new Option<int>("--n") { Description = "scenes per noise level", DefaultValueFactory = _ => 16 };
        var cmd = new Command("denoise", "Measure the model's denoising error on fresh renders at several timesteps.") { model, n };
        cmd.SetAction(parse =>
        {
            var ops = Backends.Select("cpu", Console.Error)!;
            int count = parse.GetValue(n);
            using var pipe = new Engine.Models.Pipelines.TextToImage(parse.GetValue(model)!, ops);
            var schedule = new Engine.Models.Schedulers.NoiseSchedule(pipe.SchedulerConfig);
            using var renderer = new WorldRenderer(pipe.Unet.Config.SampleSize);
            using var arena = new Engine.Memory.NativeArena();
            using var acts = new Engine.Memory.NativeArena();
            using var grads = new Engine.Memory.NativeArena();
            int len = pipe.TextEncoder.Config.MaxPositionEmbeddings, numel = renderer.ImageNumel;
            var rng = new Random(12345);
            var x0 = new float[count * numel];
            var ids = arena.Alloc(new Engine.Tensors.Shape(count, len), Engine.Tensors.DType.I32);
            for (int i = 0; i < count; i++)
            {
                var scene = Scene.Sample(rng, renderer.Size);
                renderer.Render(scene, x0.AsSpan(i * numel, numel));
                pipe.Tokenizer.Encode(Captions.Fill(Captions.TrainingTemplates[2], scene), len).Ids.CopyTo(ids.AsIntSpan().Slice(i * len, len));
            }
            var ehs = pipe.TextEncoder.Forward(ops, pipe.TextEncoder.Activations(arena, count, len), ids);
            var noise = arena.Alloc(new Engine.Tensors.Shape(count, 3, renderer.Size, renderer.Size));
            var xt = arena.Alloc(noise.Shape);
            ops.RandomNormal(noise, 7, 0);
            var w = new Engine.Models.Workspace(ops, acts, grads);
            Console.WriteLine("   t   eps-mse   x0-mse");
            foreach (int t in new[] { 10, 50, 100, 250, 500, 750, 900, 990 })
            {
                var ts = Enumerable.Repeat(t, count).ToArray();
                schedule.AddNoise(xt.AsSpan(), x0, noise.AsSpan(), ts);
                w.Reset();
                var eps = pipe.Unet.Forward(w, xt, ts.Select(v => (float)v).ToArray(), ehs).AsSpan();
                float ab = schedule.AlphasCumprod[t];
                double e2 = 0, x2 = 0;
                for (int j = 0; j < eps.Length; j++)
                {
                    double de = eps[j] - noise.AsSpan()[j];
                    e2 += de * de;
                    double xhat = (xt.AsSpan()[j] - Math.Sqrt(1 - ab) * eps[j]) / Math.Sqrt(ab);
                    x2 += (xhat - x0[j]) * (xhat - x0[j]);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t,4}  {e2 / eps.Length,8:F5}  {x2 / eps.Length,8:F5}"));
            }
            return 0;
        });
        return cmd;
    }

    private static Command CreatePretrain()
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
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var styleCaptions = new Option<double?>("--style-captions") { Description = "share of non-empty captions that name the style, 0 to 1 (default: the standard mix, about a third)" };
        var cmd = new Command("pretrain", "Train the built-in text-to-image model from scratch on rendered scenes.")
            { steps, batch, lr, every, seed, output, state, resume, backend, styleCaptions };
        cmd.SetAction(parse =>
        {
            var s = d with
            {
                Steps = parse.GetValue(steps),
                Batch = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                CheckpointEvery = parse.GetValue(every),
                Seed = parse.GetValue(seed),
                StyleCaptionShare = parse.GetValue(styleCaptions),
            };
            if (s.StyleCaptionShare is { } share && !(share is >= 0 and <= 1))
            {
                Console.Error.WriteLine($"world pretrain: --style-captions must be between 0 and 1 (got {share})");
                return 2;
            }
            if (s.Steps < 1 || s.Batch < 1 || s.CheckpointEvery < 1 || !(s.LearningRate > 0))
            {
                Console.Error.WriteLine("world pretrain: --steps, --batch and --checkpoint-every must be ≥ 1 and --lr > 0");
                return 2;
            }
            var ops = Backends.Select(parse.GetValue(backend)!, Console.Error);
            if (ops is null) return 2;
            string stateDir = parse.GetValue(state)!, outDir = parse.GetValue(output)!;
            if (!parse.GetValue(resume) && File.Exists(Path.Combine(stateDir, "checkpoint.safetensors")))
            {
                Console.Error.WriteLine($"world pretrain: {stateDir} already holds a checkpoint; pass --resume to continue it or choose another --state");
                return 2;
            }
            Directory.CreateDirectory(stateDir);
            using var trainer = new WorldPretrainer(ops, s, stateDir, outDir);
            bool resumed = parse.GetValue(resume) && trainer.TryResume();
            Console.WriteLine($"world pretrain: {trainer.ParameterCount:N0} parameters, batch {s.Batch}, lr {s.LearningRate}, {s.Steps} steps, {ops.Name}" +
                (s.StyleCaptionShare is { } sc ? $", {sc:P0} of captions name the style" : "") +
                (resumed ? $"; resumed at step {trainer.Step}" : ""));
            string csv = Path.Combine(stateDir, "loss.csv");
            var lines = File.Exists(csv) && resumed
                ? File.ReadLines(csv).Take(1 + trainer.Step).ToList() : ["step,loss,grad_norm,lr,skipped,seconds"];
            File.WriteAllLines(csv, lines);
            using var log = new StreamWriter(csv, append: true) { AutoFlush = true };
            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
            var bar = new ProgressBar("pretrain", Console.Error, trainer.Step);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double smooth = double.NaN;
            trainer.Train(r =>
            {
                if (!r.Skipped) smooth = double.IsNaN(smooth) ? r.Loss : 0.98 * smooth + 0.02 * r.Loss;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Step},{r.Loss},{r.GradNorm},{r.LearningRate},{(r.Skipped ? 1 : 0)},{clock.Elapsed.TotalSeconds:F1}"));
                bar.Report(r.Step, s.Steps, string.Create(CultureInfo.InvariantCulture, $"loss {smooth:F4}"));
            }, cancel.Token);
            Console.WriteLine($"world pretrain: stopped at step {trainer.Step} after {clock.Elapsed.TotalMinutes:F1} min; model in {outDir}, checkpoint in {stateDir}");
            return 0;
        });
        return cmd;
    }
}
