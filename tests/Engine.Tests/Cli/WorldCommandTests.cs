using System.Text.Json;
using Engine.Tests.IO;
using Engine.World;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>doco world render|denoise|pretrain|classifier|quality</c> through the shipped parser, on the shipped model and
/// classifier and at sizes that take a second or two: what each option does inside Run, and the exit-2 lines.
/// </summary>
public class WorldCommandTests
{
    private static readonly string Model = ModelSearch.FindUp(Path.Combine("models", "world"))
        ?? throw new InvalidOperationException("models/world not found above " + Directory.GetCurrentDirectory());

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Render_WritesNScenesToOut_AndTheSeedPicksThem()
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run("world", "render", "--n", "3", "--seed", "5", "--out", dir.File("a.png"));
        Assert.True(exit == 0, err);
        var lines = Lines(output);
        Assert.Equal(["0:", "1:", "2:"], lines[..3].Select(l => l.Split(' ')[0]));
        Assert.Equal($"wrote {dir.File("a.png")} (3 scenes, 66×66)", lines[3]);
        Assert.True(File.Exists(dir.File("a.png")));
        Assert.Equal(output.Replace("a.png", "b.png", StringComparison.Ordinal), Doco.Run("world", "render", "--n", "3", "--seed", "5", "--out", dir.File("b.png")).Out);
        Assert.NotEqual(lines[..3], Lines(Doco.Run("world", "render", "--n", "3", "--seed", "6", "--out", dir.File("c.png")).Out)[..3]);
    }

    [Fact]
    public void Render_NoScenes_Exit2()
    {
        var (exit, output, err) = Doco.Run("world", "render", "--n", "0");
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal("world render: --n must be ≥ 1", err.TrimEnd());
    }

    [Fact]
    public void Denoise_PrintsOneRowPerTimestep_AveragedOverN()
    {
        var (exit, one, err) = Doco.Run("world", "denoise", "--model", Model, "--n", "1");
        Assert.True(exit == 0, err);
        Assert.Equal(1 + 8, Lines(one).Length);
        Assert.StartsWith("10 ", Lines(one)[1], StringComparison.Ordinal);
        Assert.NotEqual(one, Doco.Run("world", "denoise", "--model", Model, "--n", "2").Out);
    }

    [Theory]
    [InlineData("--n", "0", "world denoise: --n must be ≥ 1, got 0")]
    [InlineData("--model", "/no/such/model", "world denoise: cannot load /no/such/model: ")]
    public void Denoise_BadValue_Exit2WithOneLine(string option, string value, string message)
    {
        var (exit, output, err) = Doco.Run(Doco.With(["world", "denoise", "--model", Model, "--n", "1"], option, value));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Single(Lines(err));
        Assert.StartsWith(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretrain_WritesOutAndState_ResumesOnlyWithResume()
    {
        using var dir = new TempDir();
        string[] args = ["world", "pretrain", "--steps", "1", "--batch", "2", "--lr", "0.001", "--checkpoint-every", "1", "--seed", "3",
            "--style-captions", "0.5", "--backend", "cpu", "--out", dir.File("model"), "--state", dir.File("state")];
        var (exit, output, err) = Doco.Run(args);
        Assert.True(exit == 0, err);
        Assert.Contains("batch 2, lr 0.001, 1 steps, cpu", output, StringComparison.Ordinal);
        Assert.Contains("50 % of captions name the style", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("model/model_index.json")));
        Assert.True(File.Exists(dir.File("state/checkpoint.safetensors")));
        Assert.Equal(2, File.ReadAllLines(dir.File("state/loss.csv")).Length);

        (exit, _, err) = Doco.Run(args);
        Assert.Equal(2, exit);
        Assert.Contains("already holds a checkpoint; pass --resume", err, StringComparison.Ordinal);

        (exit, output, err) = Doco.Run([.. Doco.With(args, "--steps", "2"), "--resume"]);
        Assert.True(exit == 0, err);
        Assert.Contains("resumed at step 1", output, StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(dir.File("state/loss.csv")).Length);
    }

    [Theory]
    [InlineData("--style-captions", "1.5", "--style-captions must be between 0 and 1")]
    [InlineData("--batch", "0", "--steps, --batch and --checkpoint-every must be ≥ 1 and --lr > 0")]
    [InlineData("--lr", "0", "--steps, --batch and --checkpoint-every must be ≥ 1 and --lr > 0")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu'")]
    public void Pretrain_BadValue_Exit2WithOneLine_AndWritesNothing(string option, string value, string message)
    {
        using var dir = new TempDir();
        var (exit, _, err) = Doco.Run(Doco.With(["world", "pretrain", "--steps", "1", "--out", dir.File("model"), "--state", dir.File("state")], option, value));
        Assert.Equal(2, exit);
        Assert.Single(Lines(err));
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Pretrain_ResumeWithoutACheckpoint_Exit2_InsteadOfStartingAfresh()
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run("world", "pretrain", "--steps", "1", "--resume", "--out", dir.File("model"), "--state", dir.File("state"));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal($"world pretrain: --resume, but {dir.File("state")} holds no checkpoint.safetensors; check --state, or leave out --resume to start afresh", err.TrimEnd());
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Classifier_WritesOut_WithTheSettingsItWasTrainedWith()
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run("world", "classifier", "--steps", "2", "--batch", "4", "--lr", "0.001", "--seed", "3", "--eval", "5",
            "--backend", "cpu", "--out", dir.File("clf"));
        Assert.True(exit == 0, err);
        Assert.Contains("2 steps of 4, lr 0.001", output, StringComparison.Ordinal);
        Assert.Contains("accuracy on 5 fresh renders", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("clf/classifier.safetensors")));
        var training = JsonDocument.Parse(File.ReadAllText(dir.File("clf/config.json"))).RootElement.GetProperty("training");
        Assert.Equal("doco world classifier --steps 2 --batch 4 --lr 0.001 --seed 3", training.GetProperty("command").GetString());
    }

    [Theory]
    [InlineData("--batch", "1")]
    [InlineData("--eval", "0")]
    public void Classifier_BadValue_Exit2WithOneLine(string option, string value)
    {
        var (exit, _, err) = Doco.Run(Doco.With(["world", "classifier", "--steps", "1"], option, value));
        Assert.Equal(2, exit);
        Assert.Equal("world classifier: --steps and --eval must be ≥ 1, --batch ≥ 2 and --lr > 0", err.TrimEnd());
    }

    [Fact]
    public void Quality_Trained_WritesTheGrid()
    {
        using var dir = new TempDir();
        var (exit, output, err) = Doco.Run("world", "quality", "--model", Model, "--n", "1", "--steps", "1", "--cfg", "2", "--trained",
            "--grid", dir.File("grid.png"), "--backend", "cpu");
        Assert.True(exit is 0 or 1, err); // one DDIM step is far below the bar: 1 is the expected verdict, not an error
        Assert.StartsWith("trained triples (diagnostic, not the bar): ", output, StringComparison.Ordinal);
        Assert.Contains($"samples: {dir.File("grid.png")}", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("grid.png")));
    }

    [Theory]
    [InlineData("--n", "0", "world quality: --n and --steps must be ≥ 1")]
    [InlineData("--steps", "0", "world quality: --n and --steps must be ≥ 1")]
    [InlineData("--model", "/no/such/model", "world quality: /no/such/model is not a diffusers model folder (no model_index.json)")]
    [InlineData("--classifier", "/no/such/classifier", "world quality: ")]
    public void Quality_BadValue_Exit2WithOneLine(string option, string value, string message)
    {
        var (exit, output, err) = Doco.Run(Doco.With(["world", "quality", "--model", Model, "--n", "1", "--steps", "1"], option, value));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Single(Lines(err));
        Assert.StartsWith(message, err, StringComparison.Ordinal);
    }
}
