using System.CommandLine;
using Engine.IO.Images;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary><c>doco world render</c>: random scenes of the built-in world as a PNG grid, with their captions.</summary>
internal static class WorldRenderCommand
{
    public sealed record Options(int N, int Seed, string Out);

    public static Command Create()
    {
        var n = new Option<int>("--n") { Description = "number of scenes", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "scene seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "PNG grid to write", DefaultValueFactory = _ => "world.png" };
        Options Bind(ParseResult parse) => new(parse.GetValue(n), parse.GetValue(seed), parse.GetValue(output)!);
        return new BoundCommand<Options>("render", "Render random scenes of the world into a PNG grid and print their captions.", Bind, Run) { n, seed, output };
    }

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        if (o.N < 1) { error.WriteLine("world render: --n must be ≥ 1"); return 2; }
        var rng = new Random(o.Seed);
        using var renderer = new WorldRenderer(WorldModel.ImageSize);
        var images = new float[o.N * renderer.ImageNumel];
        for (int i = 0; i < o.N; i++)
        {
            var scene = Scene.Sample(rng, renderer.Size);
            renderer.Render(scene, images.AsSpan(i * renderer.ImageNumel, renderer.ImageNumel));
            output.WriteLine($"{i,3}: {Captions.ForPretraining(scene, rng),-50} [{scene}]");
        }
        var (rgb, w, h) = ImageGrid.Compose(images, o.N, 3, renderer.Size, renderer.Size);
        Png.Save(o.Out, rgb, w, h);
        output.WriteLine($"wrote {o.Out} ({o.N} scenes, {w}×{h})");
        return 0;
    }
}
