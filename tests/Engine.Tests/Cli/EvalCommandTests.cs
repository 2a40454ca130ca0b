using System.Text.Json;
using Engine.Tests.IO;
using Engine.World;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>doco eval</c> through the shipped parser, on the shipped model and classifier with one DDIM step and one sample
/// per prompt (a few seconds): what --out, --prompts, --base, --concept and --quick do, and the exit-2 lines.
/// </summary>
public class EvalCommandTests
{
    private static readonly string Model = ModelSearch.FindUp(Path.Combine("models", "world"))
        ?? throw new InvalidOperationException("models/world not found above " + Directory.GetCurrentDirectory());

    private static readonly string[] Cheap = ["eval", "--model", Model, "--n", "1", "--steps", "1", "--backend", "cpu"];

    [Fact]
    public void QuickRuler_AgainstABase_WritesTheReportToOut()
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run([.. Cheap, "--quick", "--concept", "square", "--anchor", "triangle", "--base", Model, "--seed", "1", "--cfg", "2",
            "--out", dir.File("out")]);
        Assert.True(exit == 0, err);
        Assert.Contains("× 1 samples per model, DDIM 1 steps, guidance 2", err, StringComparison.Ordinal);
        Assert.Contains($"wrote {dir.File("out")}/ruler.json, ruler.md, grid.png", output, StringComparison.Ordinal);
        foreach (var f in new[] { "ruler.json", "ruler.md", "grid.png" }) Assert.True(File.Exists(dir.File("out/" + f)), f);
        string json = File.ReadAllText(dir.File("out/ruler.json"));
        JsonDocument.Parse(json);
        Assert.Contains("square", json, StringComparison.Ordinal);
        Assert.Contains("triangle", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Prompts_ScoresEachLine_ForTheBaseAndTheModel()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("prompts.txt"), "a red star\tshape=star colour=red\n");
        var (exit, output, err) = Doco.Run([.. Cheap, "--prompts", dir.File("prompts.txt"), "--base", Model, "--out", dir.File("out")]);
        Assert.True(exit == 0, err);
        Assert.Contains("a red star", output, StringComparison.Ordinal);
        Assert.Contains("(1 samples per prompt)", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("out/prompts-base.txt")));
        Assert.True(File.Exists(dir.File("out/prompts-erased.txt")));
    }

    [Theory]
    [InlineData("--n", "0", "eval: --n and --steps must be ≥ 1")]
    [InlineData("--steps", "0", "eval: --n and --steps must be ≥ 1")]
    [InlineData("--concept", "dragon", "eval: ")]
    [InlineData("--anchor", "dotted", "eval: anchor 'dotted' is not a shape like 'star'")]
    [InlineData("--base", "/no/such/model", "eval: --base /no/such/model is not a diffusers model folder (no model_index.json)")]
    [InlineData("--model", "/no/such/model", "eval: /no/such/model is not a diffusers model folder (no model_index.json)")]
    [InlineData("--prompts", "/no/such/prompts.txt", "eval: /no/such/prompts.txt: ")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu'")]
    public void BadValue_Exit2WithOneLine_AndWritesNoOut(string option, string value, string message)
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run(Doco.With([.. Cheap, "--out", dir.File("out")], option, value));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(message, err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Theory]
    [InlineData("--concept", "square")]
    [InlineData("--anchor", "circle")]
    public void Prompts_WithAConceptOrAnchor_Exit2_RatherThanIgnoringIt(string option, string value)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("prompts.txt"), "a red star\tshape=star colour=red\n");
        var (exit, _, err) = Doco.Run([.. Cheap, "--prompts", dir.File("prompts.txt"), option, value]);
        Assert.Equal(2, exit);
        Assert.Equal("eval: --concept and --anchor choose the ruler's prompts; with --prompts they would be ignored, so leave them out", err.TrimEnd());
    }
}
