namespace Engine.Tests.Cli;

/// <summary><c>doco verify</c> on the tiny-sd fixture, run in-process with captured output.</summary>
public class VerifyCommandTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    private static (int Exit, string Out, string Err) Run(string folder, bool verbose = false) =>
        Doco.Run(["verify", folder, "--backend", "cpu", .. verbose ? ["--verbose"] : Array.Empty<string>()]);

    [Fact]
    public void TinySd_AllPass_OneLinePerGroupAndASummary()
    {
        var (exit, output, err) = Run(Fixture);
        Assert.True(exit == 0, output + err);
        Assert.Equal("", err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // header, rule, 7 groups (each group's worst; nothing fails), summary
        Assert.Equal(2 + 7 + 1, lines.Length);
        Assert.All(lines[2..^1], l => Assert.EndsWith("PASS", l, StringComparison.Ordinal));
        foreach (var g in new[] { "text encoder output", "unet parameter gradients", "vae decoder output", "schedulers" })
            Assert.Contains(lines, l => l.StartsWith(g, StringComparison.Ordinal));
        Assert.StartsWith("410 outputs in 7 groups: 410 passed, 0 failed", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void WrongSchedule_Exits1ListingEveryFailure()
    {
        string dir = Directory.CreateTempSubdirectory("verify-cli-").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(Fixture, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(dir, Path.GetRelativePath(Fixture, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            var config = Path.Combine(dir, "scheduler", "scheduler_config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"beta_end\": 0.012", "\"beta_end\": 0.02", StringComparison.Ordinal));
            var (exit, output, _) = Run(dir, verbose: true);
            Assert.Equal(1, exit);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Equal(2 + 410 + 1, lines.Length);
            Assert.Contains(lines, l => l.Contains("sched.alphas_cumprod", StringComparison.Ordinal) && l.EndsWith("FAIL", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("unet.out", StringComparison.Ordinal) && l.EndsWith("PASS", StringComparison.Ordinal));
            Assert.Contains("failed", lines[^1], StringComparison.Ordinal);
            Assert.DoesNotContain(" 0 failed", lines[^1], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("tpu", "unknown backend 'tpu' (auto, cpu or cuda)")]
    [InlineData("cuda", "")] // a GPU present or not, verify's pipeline still runs on host memory: one line, exit 2
    public void Backend_OtherThanCpuOrAuto_Exit2WithOneLine(string backend, string message)
    {
        var (exit, output, err) = Doco.Run("verify", Fixture, "--backend", backend);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFolder_Exits2()
    {
        var (exit, output, err) = Run(Path.Combine(Fixture, "nope"));
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("nope", err);
    }

    [Fact]
    public void IncompleteFolder_Exits2NamingWhatIsMissing()
    {
        string dir = Directory.CreateTempSubdirectory("verify-cli-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "vae"));
            File.Copy(Path.Combine(Fixture, "vae", "config.json"), Path.Combine(dir, "vae", "config.json"));
            var (exit, output, err) = Run(dir);
            Assert.Equal(2, exit);
            Assert.Equal("", output);
            Assert.Contains("cases.safetensors", err);
            Assert.Contains("unet/config.json", err);
            Assert.Contains("vae/*.safetensors", err);
            Assert.DoesNotContain("vae/config.json", err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
