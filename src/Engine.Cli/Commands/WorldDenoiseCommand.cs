using System.CommandLine;
using System.Globalization;
using Engine.Diffusion.Pipelines;
using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models;
using Engine.Tensors;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco world denoise</c>: the model's one-step denoising error on fresh renders at several noise levels: ε-MSE
/// (the training loss) and the x0 error it implies. A quick health check that needs no classifier.
/// </summary>
internal static class WorldDenoiseCommand
{
    public sealed record Options(string Model, int N);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a built-in world model folder", DefaultValueFactory = _ => "models/world" };
        var n = new Option<int>("--n") { Description = "scenes per noise level", DefaultValueFactory = _ => 16 };
        Options Bind(ParseResult parse) => new(parse.GetValue(model)!, parse.GetValue(n));
        return new BoundCommand<Options>("denoise", "Measure the model's denoising error on fresh renders at several timesteps.", Bind, Run) { model, n };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        int count = o.N;
        if (count < 1) { error.WriteLine($"world denoise: --n must be ≥ 1, got {count}"); return 2; }
        var ops = Backends.Select("cpu", error)!;
        TextToImage pipe;
        try
        {
            pipe = new TextToImage(o.Model, ops);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"world denoise: cannot load {o.Model}: {e.Message}");
            return 2;
        }
        using var ownedPipe = pipe;
        var schedule = new NoiseSchedule(pipe.SchedulerConfig);
        using var renderer = new WorldRenderer(pipe.Unet.Config.SampleSize);
        using var arena = new NativeArena();
        using var acts = new NativeArena();
        using var grads = new NativeArena();
        int len = pipe.TextEncoder.Config.MaxPositionEmbeddings, numel = renderer.ImageNumel;
        var rng = new Random(12345);
        var x0 = new float[count * numel];
        var ids = arena.Alloc(new Shape(count, len), DType.I32);
        for (int i = 0; i < count; i++)
        {
            var scene = Scene.Sample(rng, renderer.Size);
            renderer.Render(scene, x0.AsSpan(i * numel, numel));
            pipe.Tokenizer.Encode(Captions.Fill(Captions.TrainingTemplates[2], scene), len).Ids.CopyTo(ids.AsIntSpan().Slice(i * len, len));
        }
        var ehs = pipe.TextEncoder.Forward(ops, pipe.TextEncoder.Activations(arena, count, len), ids);
        var noise = arena.Alloc(new Shape(count, 3, renderer.Size, renderer.Size));
        var xt = arena.Alloc(noise.Shape);
        ops.RandomNormal(noise, 7, 0);
        var w = new Workspace(ops, acts, grads);
        output.WriteLine("   t   eps-mse   x0-mse");
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
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t,4}  {e2 / eps.Length,8:F5}  {x2 / eps.Length,8:F5}"));
        }
        return 0;
    }
}
