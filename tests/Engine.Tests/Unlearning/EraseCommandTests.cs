using Engine.Cli.Commands;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.World;

namespace Engine.Tests.Unlearning;

/// <summary><c>doco erase</c> on the tiny-sd fixture: one short run per method, and every bad argument.</summary>
public sealed class EraseCommandTests
{
    private static readonly string Fixture = TinyTrainer.Fixture;

    private static EraseCommand.Options Tiny(string method, string outDir) => new()
    {
        Model = Fixture,
        Concept = "star",
        Anchor = "circle",
        Method = method,
        Steps = 2,
        Warmup = 1,
        Batch = 1,
        Anchors = 2,
        AnchorSteps = 1,
        EsdDdimSteps = 2,
        Lr = 1e-4f,
        Out = outDir,
        Backend = "cpu",
    };

    [Theory]
    [InlineData("doco")]
    [InlineData("ca")]
    [InlineData("esd")]
    public void Erase_ShortRun_WritesAModelThatLoadsBack(string method)
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var outDir = Path.Combine(dir.FullName, "out");
            var err = new StringWriter();
            int rc = EraseCommand.Run(Tiny(method, outDir), TextWriter.Null, err);
            Assert.True(rc == 0, err.ToString());
            Assert.True(File.Exists(Path.Combine(outDir, "checkpoint.safetensors")));
            using var arena = new NativeArena();
            var unet = ModelFiles.LoadUNet(Path.Combine(outDir, "model", "unet"), arena);
            var original = ModelFiles.LoadUNet(Path.Combine(Fixture, "unet"), arena);
            Assert.Equal(original.Parameters.Layout.TotalCount, unet.Parameters.Layout.TotalCount);
            Assert.False(unet.Parameters.Weights.AsSpan().SequenceEqual(original.Parameters.Weights.AsSpan()), "training must change the UNet");
            ModelFiles.LoadTextEncoder(Path.Combine(outDir, "model", "text_encoder"), arena);

            // A finished run's checkpoint resumes to nothing left to do, and the output is rewritten identically.
            var before = File.ReadAllBytes(Path.Combine(outDir, "model", "unet", "diffusion_pytorch_model.safetensors"));
            Assert.Equal(0, EraseCommand.Run(Tiny(method, outDir) with { Resume = true }, TextWriter.Null, TextWriter.Null));
            Assert.Equal(before, File.ReadAllBytes(Path.Combine(outDir, "model", "unet", "diffusion_pytorch_model.safetensors")));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    public static TheoryData<string, string> BadArguments() => new()
    {
        { "--method", "method=xyz" },
        { "--type", "type=xyz" },
        { "--surgery", "surgery=xyz" },
        { "--train", "train=xyz" },
        { "--steps", "steps=0" },
        { "--batch", "batch=0" },
        { "--lr", "lr=-1" },
        { "--anchors", "anchors=0" },
        { "--anchor-batch", "anchor-batch=0" },
        { "--concept", "concept=" },
        { "--anchor", "anchor=" },
        { "--anchor", "anchor=star" },
        { "--model", "model=missing" },
        { "--resume", "resume" },
        { "--lora", "lora=0" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void Erase_BadArgument_Exit2_NamesIt_WritesNothing(string named, string change)
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var outDir = Path.Combine(dir.FullName, "out");
            var o = Tiny("doco", outDir);
            var parts = change.Split('=');
            o = parts[0] switch
            {
                "method" => o with { Method = parts[1] },
                "type" => o with { Type = parts[1] },
                "surgery" => o with { Surgery = parts[1] },
                "train" => o with { Train = parts[1] },
                "steps" => o with { Steps = 0 },
                "batch" => o with { Batch = 0 },
                "lr" => o with { Lr = -1f },
                "anchors" => o with { Anchors = 0 },
                "anchor-batch" => o with { AnchorBatch = 0 },
                "concept" => o with { Concept = "" },
                "anchor" => o with { Anchor = parts[1] },
                "model" => o with { Model = Path.Combine(dir.FullName, "missing") },
                "resume" => o with { Resume = true },
                "lora" => o with { Lora = 0 },
                _ => throw new ArgumentException(change),
            };
            var err = new StringWriter();
            Assert.Equal(2, EraseCommand.Run(o, TextWriter.Null, err));
            Assert.Contains(named, err.ToString(), StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(dir.FullName));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void FindUp_WalksUpToModelsWorld_ThatHoldsAModel()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            string world = Path.Combine(dir.FullName, "models", "world"), relative = Path.Combine("models", "world");
            Directory.CreateDirectory(world);
            var nested = Directory.CreateDirectory(Path.Combine(dir.FullName, "a", "b"));
            // An empty models/world is not a model; the search goes on above it (and finds none under the temp folder).
            Assert.NotEqual(world, ModelSearch.FindUp(relative, nested.FullName));
            File.WriteAllText(Path.Combine(world, "model_index.json"), "{}");
            Assert.Equal(world, ModelSearch.FindUp(relative, nested.FullName));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
