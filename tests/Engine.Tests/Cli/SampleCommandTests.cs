using Engine.Tests.IO;

namespace Engine.Tests.Cli;

/// <summary><c>doco sample</c> on the tiny-sd fixture, through the shipped parser.</summary>
public class SampleCommandTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    private static (int Exit, string Out, string Err) Sample(string outPath, params string[] overrides) =>
        Doco.Run(Doco.With(["sample", "--model", Fixture, "--prompt", "a cat", "--steps", "2", "--seed", "3", "--n", "2", "--backend", "cpu", "--out", outPath], overrides));

    [Fact]
    public void Sample_WritesAPngGrid_AndIsDeterministicInTheSeed()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var a = Path.Combine(dir.FullName, "a.png");
            var b = Path.Combine(dir.FullName, "b.png");
            var c = Path.Combine(dir.FullName, "c.png");
            Assert.Equal(0, Sample(a).Exit);
            Assert.Equal(0, Sample(b).Exit);
            Assert.Equal(0, Sample(c, "--seed", "4").Exit);
            var bytes = File.ReadAllBytes(a);
            Assert.Equal(0x89, bytes[0]);
            Assert.Equal(bytes, File.ReadAllBytes(b));
            Assert.NotEqual(bytes, File.ReadAllBytes(c));
            Assert.Equal(3, Directory.GetFiles(dir.FullName).Length);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>One 2-step image of the tiny-sd fixture with every other option at its default.</summary>
    private static byte[] Png(TempDir dir, string name, params string[] overrides)
    {
        var (exit, _, err) = Sample(dir.File(name), ["--n", "1", .. overrides]);
        Assert.True(exit == 0, err);
        return File.ReadAllBytes(dir.File(name));
    }

    [Theory]
    [InlineData("--prompt", "a dog")]
    [InlineData("--negative", "blurry")]
    [InlineData("--cfg", "3")]
    [InlineData("--eta", "0.5")]
    [InlineData("--steps", "3")]
    [InlineData("--seed", "4")]
    [InlineData("--n", "2")]
    public void EachSamplingOption_ChangesTheImage(string option, string value)
    {
        using var dir = new TempDir();
        Assert.NotEqual(Png(dir, "base.png"), Png(dir, "changed.png", option, value));
    }

    [Fact]
    public void Batch_RunsTheImagesInChunks_AndLeavesThemAsTheyAre()
    {
        using var dir = new TempDir();
        var (exit, _, whole) = Sample(dir.File("whole.png"));
        Assert.True(exit == 0, whole);
        var (exit1, _, chunked) = Sample(dir.File("chunked.png"), "--batch", "1");
        Assert.True(exit1 == 0, chunked);
        // Two images of two DDIM steps: one chunk of 2 steps by default, two chunks of 2 with --batch 1.
        Assert.Contains(" 2/2 ", whole, StringComparison.Ordinal);
        Assert.Contains(" 4/4 ", chunked, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(dir.File("whole.png")), File.ReadAllBytes(dir.File("chunked.png")));
    }

    [Theory]
    [InlineData("--batch", "0", "sample: --batch must be ≥ 1 (got 0)")]
    [InlineData("--steps", "0", "sample: --steps and --n must be ≥ 1")]
    [InlineData("--n", "0", "sample: --steps and --n must be ≥ 1")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu' (auto, cpu or cuda)")]
    public void BadValue_Exit2WithOneLine_AndWritesNothing(string option, string value, string message)
    {
        using var dir = new TempDir();
        var (exit, output, err) = Sample(dir.File("x.png"), option, value);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal(message, err.TrimEnd());
        Assert.False(File.Exists(dir.File("x.png")));
    }

    [Fact]
    public void Sample_BadModelFolder_Exit2_AndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = Path.Combine(dir.FullName, "x.png");
            var (exit, _, err) = Doco.Run("sample", "--model", Path.Combine(dir.FullName, "missing"), "--prompt", "a cat", "--steps", "1", "--n", "1",
                "--backend", "cpu", "--out", path);
            Assert.Equal(2, exit);
            Assert.Contains("missing", err, StringComparison.Ordinal);
            Assert.False(File.Exists(path));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
