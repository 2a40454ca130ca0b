using System.CommandLine;
using System.Globalization;
using Engine.Diffusion.Pipelines;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco world denoise</c>: the model's one-step denoising error on fresh renders at several noise levels: ε-MSE
/// (the training loss) and the x0 error it implies (<see cref="DenoiseProbe"/>). A quick health check that needs no classifier.
/// </summary>
internal static class WorldDenoiseCommand
{
    public sealed record Options(string Model, int N, string Backend);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a built-in world model folder", DefaultValueFactory = _ => "models/world" };
        var n = new Option<int>("--n") { Description = "scenes per noise level", DefaultValueFactory = _ => 16 };
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        Options Bind(ParseResult parse) => new(parse.GetValue(model)!, parse.GetValue(n), parse.GetValue(backend)!);
        return new BoundCommand<Options>("denoise", "Measure the model's denoising error on fresh renders at several timesteps.", Bind, Run) { model, n, backend };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        int count = o.N;
        if (count < 1) { error.WriteLine($"world denoise: --n must be ≥ 1, got {count}"); return 2; }
        // Before the backend: a mistyped --model should not wait for a GPU context, nor follow its one-line notice.
        if (!Directory.Exists(o.Model)) { error.WriteLine($"world denoise: cannot load {o.Model}: model folder not found: {o.Model}"); return 2; }
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;
        using var ownedOps = ops as IDisposable; // CudaOps owns the context: disposed after the pipeline
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
        output.WriteLine("   t   eps-mse   x0-mse");
        foreach (var row in DenoiseProbe.Measure(pipe, count))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.Timestep,4}  {row.EpsMse,8:F5}  {row.X0Mse,8:F5}"));
        return 0;
    }
}
