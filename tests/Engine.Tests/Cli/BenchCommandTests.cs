namespace Engine.Tests.Cli;

/// <summary>
/// <c>doco bench unet</c> and <c>doco bench doco</c> through the shipped parser, on the tiny config for one timed step
/// (about a second): each option shows in the header line, and bad values give one line and exit 2.
/// <c>bench kernels</c> is covered in Cuda/KernelBenchTests.cs.
/// </summary>
public class BenchCommandTests
{
    private static readonly string[] Unet = ["bench", "unet", "--config", "tiny", "--steps", "1", "--backend", "cpu"];
    private static readonly string[] DocoStep = ["bench", "doco", "--config", "tiny", "--steps", "1", "--backend", "cpu"];

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Unet_SizeBatchTrainAndSteps_ShapeTheRun()
    {
        var (exit, output, err) = Doco.Run([.. Unet, "--size", "8", "--batch", "2", "--train", "kv"]);
        Assert.True(exit == 0, err);
        var lines = Lines(output);
        Assert.StartsWith("unet tiny: ", lines[0], StringComparison.Ordinal);
        Assert.Contains("trainable: kv", lines[0], StringComparison.Ordinal);
        Assert.Contains("latents [2, 4, 8, 8]", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("text backward", lines[1], StringComparison.Ordinal); // only --train all trains the text encoder
        Assert.Contains("(mean of 1;", output, StringComparison.Ordinal);
        Assert.Equal(1 + 2 + 2, lines.Length); // header, warm-up and one timed step, mean and memory
    }

    [Fact]
    public void Unet_WithoutSize_UsesTheConfigsOwn()
    {
        var (exit, output, err) = Doco.Run(Unet);
        Assert.True(exit == 0, err);
        Assert.Contains("latents [1, 4, 16, 16]", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--size", "0", "bench: --size must be a positive multiple of 2 for --config tiny, got 0")]
    [InlineData("--size", "-8", "bench: --size must be a positive multiple of 2 for --config tiny, got -8")]
    [InlineData("--size", "7", "bench: --size must be a positive multiple of 2 for --config tiny, got 7")]
    [InlineData("--config", "sd21", "bench: unknown --config 'sd21' (sd15, tiny or toy)")]
    [InlineData("--train", "lora", "bench: unknown --train 'lora' (all, attention or kv)")]
    [InlineData("--batch", "0", "bench: --batch and --steps must be ≥ 1")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu' (auto, cpu or cuda)")]
    public void Unet_BadValue_Exit2WithOneLine(string option, string value, string message)
    {
        var (exit, output, err) = Doco.Run(Doco.With(Unet, option, value));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal(message, err.TrimEnd());
    }

    [Theory]
    [InlineData("unet")]
    [InlineData("doco")]
    public void Profile_PrintsTheFamiliesAgainstTheLimitsMeasuredInTheRun(string verb)
    {
        string[] args = verb == "unet" ? [.. Unet, "--size", "8", "--profile"] : [.. DocoStep, "--profile"];
        var (exit, output, err) = Doco.Run(args);
        Assert.True(exit == 0, err);
        Assert.Contains("| op family | calls | time per step | share | rate | of its limit |", output, StringComparison.Ordinal);
        Assert.Contains("| ConvForward |", output, StringComparison.Ordinal);
        Assert.Contains("| AttentionBackward |", output, StringComparison.Ordinal);
        Assert.Contains("limits measured in this run on cpu", output, StringComparison.Ordinal);
    }

    [Fact]
    public void DocoStep_WorldConfig_RunsTheBuiltInModelsShape()
    {
        var (exit, output, err) = Doco.Run(Doco.With(DocoStep, "--config", "world"));
        Assert.True(exit == 0, err);
        Assert.StartsWith("doco step world: ", Lines(output)[0], StringComparison.Ordinal);
        Assert.Contains("latents 3×32×32", output, StringComparison.Ordinal);
    }

    [Fact]
    public void DocoStep_BatchAndSteps_ShapeTheRun()
    {
        var (exit, output, err) = Doco.Run([.. DocoStep, "--batch", "2"]);
        Assert.True(exit == 0, err);
        var lines = Lines(output);
        Assert.StartsWith("doco step tiny: ", lines[0], StringComparison.Ordinal);
        Assert.Contains("batch 2 (UNet 2×2)", lines[0], StringComparison.Ordinal);
        Assert.Contains("time per DoCo step: ", output, StringComparison.Ordinal);
        Assert.Contains("(mean of 1;", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--config", "sd21", "bench doco: unknown --config 'sd21' (sd15, tiny or world)")]
    [InlineData("--steps", "0", "bench doco: --steps and --batch must be ≥ 1")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu' (auto, cpu or cuda)")]
    public void DocoStep_BadValue_Exit2WithOneLine(string option, string value, string message)
    {
        var (exit, output, err) = Doco.Run(Doco.With(DocoStep, option, value));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal(message, err.TrimEnd());
    }
}
