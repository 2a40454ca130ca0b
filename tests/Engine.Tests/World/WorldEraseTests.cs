using System.Text.Json.Nodes;
using Engine.Cli.Commands;
using Engine.World;

namespace Engine.Tests.World;

/// <summary>
/// The main job, shortened (--quick): `doco erase` with no model, concept or anchor erases "star" → "circle" from the
/// shipped built-in model, and `--concept striped --anchor plain --type style` works too; both leave the full set of
/// outputs with the ruler's report, and the manifest carries the metrics.
/// </summary>
public sealed class WorldEraseTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "world-erase-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(null, null, "object")]
    [InlineData("striped", "plain", "style")]
    public void QuickEraseOnTheBuiltInModel(string? concept, string? anchor, string type)
    {
        Assert.NotNull(ModelSearch.FindUp(Path.Combine("models", "world")));
        var output = new StringWriter();
        var error = new StringWriter();
        int code = EraseCommand.Run(new EraseCommand.Options { Concept = concept, Anchor = anchor, Type = type, Out = _dir, Quick = true }, output, error);
        Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
        foreach (var file in new[] { "model/unet/diffusion_pytorch_model.safetensors", "delta.safetensors", "manifest.json", "train.csv", "losses.png", "ruler.json", "ruler.md", "grid.png" })
            Assert.True(File.Exists(Path.Combine(_dir, file)), $"missing {file}");
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "manifest.json")))!.AsObject();
        Assert.Equal(concept ?? "star", manifest["concept"]!.GetValue<string>());
        Assert.NotNull(manifest["metrics"]?["erased"]?["in_set_erasure"]);
        Assert.Contains("in-set erasure", output.ToString(), StringComparison.Ordinal);
    }
}
