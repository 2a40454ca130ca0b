using System.Text.Json.Nodes;
using Engine.Tests.Cli;
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
        string[] args = concept is null ? ["erase", "--out", _dir, "--quick"] : ["erase", "--concept", concept, "--anchor", anchor!, "--type", type, "--out", _dir, "--quick"];
        var (code, output, error) = Doco.Run(args);
        Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
        foreach (var file in new[] { "model/unet/diffusion_pytorch_model.safetensors", "delta.safetensors", "manifest.json", "train.csv", "losses.png", "ruler.json", "ruler.md", "grid.png", "report.html" })
            Assert.True(File.Exists(Path.Combine(_dir, file)), $"missing {file}");
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "manifest.json")))!.AsObject();
        Assert.Equal(concept ?? "star", manifest["concept"]!.GetValue<string>());
        Assert.NotNull(manifest["metrics"]?["erased"]?["in_set_erasure"]);
        Assert.Contains("in-set erasure", output, StringComparison.Ordinal);
    }

    [Fact]
    public void EvalFalse_SkipsTheRuler_AndSingleFileWritesOne()
    {
        var (code, _, error) = Doco.Run("erase", "--out", _dir, "--quick", "--eval", "false", "--single-file");
        Assert.True(code == 0, error);
        Assert.False(File.Exists(Path.Combine(_dir, "ruler.json")), "--eval false still ran the ruler");
        Assert.True(File.Exists(Path.Combine(_dir, "model.safetensors")), "--single-file wrote no single-file checkpoint");
        Assert.True(File.Exists(Path.Combine(_dir, "timesteps.png")));
    }

    [Fact]
    public void DiscriminatorOnly_LeavesTheUNet_AndLogsTheBuckets()
    {
        var (code, output, error) = Doco.Run("erase", "--out", _dir, "--quick", "--discriminator-only", "--steps", "4");
        Assert.True(code == 0, error);
        Assert.Contains("(0 UNet updates", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "ruler.json")), "a discriminator-only run has nothing to measure");
        var table = Engine.Unlearning.Telemetry.TelemetryTable.Read(Path.Combine(_dir, "train.csv"));
        Assert.All(table.Rows, r => Assert.Equal("warmup", r[1]));
        Assert.Contains(Engine.Unlearning.Telemetry.TimestepBuckets.Columns.SelectMany(table.Numbers), double.IsFinite);
        Assert.Equal(2, Doco.Run("erase", "--out", _dir + "-x", "--quick", "--discriminator-only", "--method", "ca").Exit);
    }

    [Fact]
    public void CompareQuick_TwoSeeds_WritesTheTablesAndThePareto()
    {
        var (code, output, error) = Doco.Run("compare", "--quick", "--only", "ca", "--seeds", "1,2", "--out", _dir);
        Assert.True(code == 0, $"exit {code}\n{error}");
        foreach (var seed in new[] { 1, 2 }) Assert.True(File.Exists(Path.Combine(_dir, "ca", $"seed-{seed}", "ruler.json")));
        string md = File.ReadAllText(Path.Combine(_dir, "results.md"));
        Assert.Contains("| Concept Ablation | 2 |", md, StringComparison.Ordinal);
        Assert.Contains("±", md, StringComparison.Ordinal);
        using (var pareto = Engine.Tests.Reports.PlotPixels.Read(Path.Combine(_dir, "pareto.png")))
            Assert.Equal((2 * Engine.Reports.Plots.ParetoPlot.PanelWidth, Engine.Reports.Plots.ParetoPlot.Height), (pareto.Width, pareto.Height));
        // report.html shows the same table.
        Assert.Contains("<td>Concept Ablation</td><td class=\"num\">2</td>", File.ReadAllText(Path.Combine(_dir, "report.html")), StringComparison.Ordinal);
        // The base model's ruler samples were taken once and reused for the second seed.
        Assert.Contains("the base model's ruler samples from", output, StringComparison.Ordinal);

        // --report-only rebuilds the same tables from the finished runs without training anything.
        File.Delete(Path.Combine(_dir, "results.md"));
        var (again, againOut, againErr) = Doco.Run("compare", "--quick", "--only", "ca", "--seeds", "1,2", "--out", _dir, "--report-only");
        Assert.True(again == 0, againErr);
        Assert.DoesNotContain("=== ", againOut, StringComparison.Ordinal);
        Assert.Equal(md, File.ReadAllText(Path.Combine(_dir, "results.md")));
        // A seed never run is an error, not an empty row.
        var (missing, _, missingErr) = Doco.Run("compare", "--quick", "--only", "ca", "--seeds", "3", "--out", _dir, "--report-only");
        Assert.Equal(2, missing);
        Assert.Contains("no finished run", missingErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--protocol", "xyz", "--protocol 'xyz'")]
    [InlineData("--seeds", "1,x", "'x' is not a seed")]
    [InlineData("--only", "nope", "unknown --only nope")]
    public void CompareBadArguments_Exit2(string option, string value, string message)
    {
        var (code, _, error) = Doco.Run("compare", option, value, "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void PhotoCaptionsOnTheWorldsTokenizer_AreWarnedAbout_AndTooManyBrokenPairsRefuse()
    {
        // With --model the world is treated as any model and gets the Stable Diffusion captions; at its 16 tokens
        // the style captions lose the concept word in more than a quarter of the pairs.
        string world = ModelSearch.FindUp(Path.Combine("models", "world"))!;
        var (exit, _, err) = Doco.Run("erase", "--model", world, "--concept", "striped", "--anchor", "plain", "--type", "style", "--out", _dir, "--eval", "false");
        Assert.Equal(2, exit);
        Assert.Contains("warning: prompt pair", err, StringComparison.Ordinal);
        Assert.Contains("cannot be told apart by the text encoder", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir), "a refused run wrote its output folder");
    }

    [Fact]
    public void AdvTMinPastTheSchedule_Exit2_WritingNothing()
    {
        var (exit, _, err) = Doco.Run("erase", "--out", _dir, "--quick", "--adv-tmin", "1000");
        Assert.Equal(2, exit);
        Assert.Contains("--adv-tmin 1000 is past the model's 1000 training timesteps", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir), "a refused run wrote its output folder");
    }
}
