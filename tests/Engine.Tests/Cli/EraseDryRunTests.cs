using Engine.Cli.Commands;
using Engine.Tests.Unlearning;
using Engine.Unlearning;
using Engine.Unlearning.Cost;
using Engine.Unlearning.Data;
using Engine.World;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>doco erase --dry-run</c> through the shipped parser: the cost estimate's table on the tiny-sd fixture and on the
/// built-in model, with nothing sampled, trained or written; the sizes it prints are the options given.
/// </summary>
public sealed class EraseDryRunTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "erase-dry-run-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void DryRun_OnTheTinyFixture_PrintsThePhasesOfTheOptionsGiven_AndWritesNothing()
    {
        string output = Path.Combine(_dir, "out");
        var (exit, stdout, stderr) = Doco.Run("erase", "--model", TinyTrainer.Fixture, "--concept", "star", "--anchor", "circle", "--backend", "cpu",
            "--anchors", "5", "--anchor-steps", "3", "--steps", "7", "--batch", "2", "--out", output, "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Contains("estimate on cpu", stdout, StringComparison.Ordinal);
        Assert.Contains("5 images × 3 DDIM steps × 2 (guidance)", stdout, StringComparison.Ordinal);
        // DoCo's warm-up defaults to half the steps on a model other than the built-in one.
        Assert.Contains("3 warm-up (D only) + 4 full steps, batch 2", stdout, StringComparison.Ordinal);
        Assert.Contains("  total ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ruler", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output), "--dry-run created the output folder");
        Assert.False(Directory.Exists(_dir), "--dry-run wrote next to the output folder");
    }

    [Fact]
    public void DryRun_OnTheBuiltInModel_PrintsItsDefaults_AndLeavesTheOutputFolderAlone()
    {
        Assert.NotNull(ModelSearch.FindUp(Path.Combine("models", "world")));
        Directory.CreateDirectory(_dir);
        string marker = Path.Combine(_dir, "kept.txt");
        File.WriteAllText(marker, "untouched");
        var (exit, stdout, stderr) = Doco.Run("erase", "--out", _dir, "--backend", "cpu", "--dry-run");
        Assert.True(exit == 0, stderr);
        var defaults = WorldErasureDefaults.Apply(new ErasureSettings(), quick: false);
        Assert.Contains($"{defaults.AnchorCount} images × {defaults.AnchorSteps} DDIM steps × 2 (guidance)", stdout, StringComparison.Ordinal);
        Assert.Contains($"{defaults.Warmup} warm-up (D only) + {defaults.Steps - defaults.Warmup} full steps, batch {defaults.Batch}", stdout, StringComparison.Ordinal);
        Assert.Contains("ruler (base + erased)", stdout, StringComparison.Ordinal);
        Assert.Contains("nothing written", stdout, StringComparison.Ordinal);
        Assert.Equal([marker], Directory.GetFileSystemEntries(_dir));
        Assert.Equal("untouched", File.ReadAllText(marker));
    }

    [Fact]
    public void DryRun_QuickAndEvalFalse_ChangeThePlan()
    {
        var (exit, stdout, stderr) = Doco.Run("erase", "--out", _dir, "--backend", "cpu", "--dry-run", "--quick", "--eval", "false");
        Assert.True(exit == 0, stderr);
        var quick = WorldErasureDefaults.Apply(new ErasureSettings(), quick: true);
        Assert.Contains($"{quick.AnchorCount} images × {quick.AnchorSteps} DDIM steps", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ruler", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public void DryRun_AnchorBatch_SetsTheAnchorSamplingsUnetBatch()
    {
        // Three images per anchor prompt: the default batch of 4 runs them together, --anchor-batch 1 one at a time.
        int prompts = ConceptPrompts.BuiltIn(ConceptType.Object, "circle", "star").AnchorPrompts.Count;
        string[] args = ["erase", "--model", TinyTrainer.Fixture, "--concept", "star", "--anchor", "circle", "--backend", "cpu",
            "--anchors", $"{3 * prompts}", "--anchor-steps", "2", "--steps", "2", "--batch", "1", "--out", Path.Combine(_dir, "out"), "--dry-run"];
        var (exit, stdout, stderr) = Doco.Run(args);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{3 * prompts} images × 2 DDIM steps × 2 (guidance), UNet batch ≤ 6", stdout, StringComparison.Ordinal);
        (exit, stdout, stderr) = Doco.Run([.. args, "--anchor-batch", "1"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{3 * prompts} images × 2 DDIM steps × 2 (guidance), UNet batch ≤ 2", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public void AnchorBatch_Zero_Exits2WithOneLine_AndWritesNothing()
    {
        var (exit, stdout, stderr) = Doco.Run("erase", "--model", TinyTrainer.Fixture, "--concept", "star", "--anchor", "circle", "--backend", "cpu",
            "--anchor-batch", "0", "--out", Path.Combine(_dir, "out"));
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("erase: --anchor-batch must be ≥ 1 (got 0)", stderr.TrimEnd());
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public void Warning_ForALongCpuRun_SaysDays_AndNamesTheOptionsThatShortenIt()
    {
        var plan = new CostPlan(new ErasureSettings(), [new SamplingWork(EraseEstimate.AnchorPhase, 25, Guided: true, AnchorImageCache.ImagesPerCall(1000, 16))]);
        var probe = new ProbeTimes { Backend = "cpu (2 threads)", Forward = new Dictionary<int, double> { [2] = 10.0 }, WarmupStepSeconds = 30, StepSeconds = 80 };
        var estimate = CostEstimate.Compute(plan, probe);
        Assert.True(estimate.TotalSeconds > EraseEstimate.LongCpuRunSeconds);
        string warning = EraseEstimate.Warning(estimate, probe.Backend, dryRun: false);
        Assert.Contains("days", warning, StringComparison.Ordinal);
        Assert.Contains("--anchors", warning, StringComparison.Ordinal);
        Assert.Contains("--backend cuda", warning, StringComparison.Ordinal);
        Assert.Contains("--dry-run", warning, StringComparison.Ordinal);
    }
}
