using Engine.Unlearning;
using Engine.Unlearning.Cost;
using Engine.Unlearning.Data;

namespace Engine.Tests.Unlearning;

/// <summary>
/// The estimate's arithmetic on given probe times (<see cref="CostEstimate.Compute"/>): sampling is images × DDIM
/// steps × passes × call seconds / call batch, training is iterations × iteration seconds × the batch scale, and
/// every count of the plan moves the estimate in proportion.
/// </summary>
public sealed class CostEstimateTests
{
    private static readonly ErasureSettings DoCo = new() { Steps = 2000, Warmup = 1000, Batch = 8 };

    /// <summary>Anchor images in calls of 50 (UNet batch 100 with guidance).</summary>
    private static SamplingWork Anchors(int images = 1000, int steps = 25, bool guided = true, bool cached = false) =>
        SamplingWork.Chunked("anchor images", images, steps, guided, batch: 50) with { Cached = cached };

    private static ProbeTimes Probe(int stepBatch = 8, double warmup = 1.5, double step = 4.0) => new()
    {
        Backend = "test",
        Forward = new Dictionary<int, double> { [2] = 0.5, [100] = 10.0, [16] = 3.2 },
        StepBatch = stepBatch,
        WarmupStepSeconds = warmup,
        StepSeconds = step,
    };

    private static double Phase(CostEstimate e, string name) => Assert.Single(e.Phases, p => p.Name.StartsWith(name, StringComparison.Ordinal)).Seconds;

    [Fact]
    public void AnchorImages_AreCountTimesStepsTimesGuidanceTimesCallSecondsOverCallBatch()
    {
        var e = CostEstimate.Compute(new CostPlan(DoCo, [Anchors()]), Probe());
        // 50 images per call, doubled by guidance: UNet batch 100, 10 s a call.
        Assert.Equal(1000.0 * 25 * 2 * 10.0 / 100, Phase(e, "anchor images"), 9);
        Assert.Equal("1000 images × 25 DDIM steps × 2 (guidance), UNet batch ≤ 100", e.Phases[0].Work);
    }

    [Fact]
    public void AnchorCallsInChunks_AreTimedAndCountedAtTheChunksBatch()
    {
        // The paper's 1000 images over 16 captions: calls of 63 and 62 images, each run 4 at a time.
        var work = SamplingWork.Chunked("anchor images", AnchorImageCache.ImagesPerCall(1000, 16), steps: 25, guided: true, batch: 4);
        Assert.Equal(1000, work.Images);
        Assert.Equal([8, 6, 4], work.UnetBatches.Order().Reverse());
        Assert.Equal(16 * 16, work.Calls.Count); // 15 full chunks and one partial per prompt
        Assert.EndsWith(", UNet batch ≤ 8", work.Work, StringComparison.Ordinal);
        // Each chunk is one UNet call per DDIM step at its own batch.
        var probe = new ProbeTimes { Backend = "test", Forward = new Dictionary<int, double> { [2] = 0.3, [4] = 0.4, [8] = 0.7 } };
        var e = CostEstimate.Compute(new CostPlan(DoCo, [work]), probe);
        Assert.Equal(25 * (16 * 15 * 0.7 + 8 * probe.ForwardSeconds(6) + 8 * 0.4), Phase(e, "anchor images"), 9);
        Assert.Equal(1000.0 * 25 * 2, work.ImagePasses, 9);
    }

    [Fact]
    public void AnchorImages_ScaleWithCountAndSteps_HalveWithoutGuidance_AndCostNothingCached()
    {
        double Seconds(SamplingWork w) => Phase(CostEstimate.Compute(new CostPlan(DoCo, [w]), Probe()), "anchor images");
        double one = Seconds(Anchors());
        Assert.Equal(2 * one, Seconds(Anchors(images: 2000)), 9);
        Assert.Equal(2 * one, Seconds(Anchors(steps: 50)), 9);
        // Unguided: one pass per image per step, UNet batch 50 (on the line between the batches 16 and 100 timed).
        double call50 = 3.2 + (10.0 - 3.2) * (50 - 16) / (100 - 16);
        Assert.Equal(25 * 20 * call50, Seconds(Anchors(guided: false)), 9);
        Assert.Equal(0, Seconds(Anchors(cached: true)));
    }

    [Fact]
    public void UnevenCalls_CostEachAtItsOwnBatch()
    {
        // 64 anchor images over 48 prompts: 16 calls of 2 images and 32 of 1 (AnchorImageCache's grouping).
        var calls = AnchorImageCache.ImagesPerCall(64, 48);
        Assert.Equal(64, calls.Sum());
        Assert.Equal(16, calls.Count(n => n == 2));
        Assert.Equal(32, calls.Count(n => n == 1));
        var probe = new ProbeTimes { Backend = "test", Forward = new Dictionary<int, double> { [2] = 0.3, [4] = 0.4 } };
        var e = CostEstimate.Compute(new CostPlan(DoCo, [new SamplingWork("anchor images", 12, Guided: true, calls)]), probe);
        Assert.Equal(12 * (16 * 0.4 + 32 * 0.3), Phase(e, "anchor images"), 9);

        // The ruler: 152 images per model in calls of at most 64, for the base and the erased model.
        Assert.Equal([64, 64, 24, 64, 64, 24], SamplingWork.Chunked("ruler", 152, 12, guided: true, batch: 64, repeats: 2).Calls);
    }

    [Fact]
    public void DoCoTraining_IsWarmupTimesItsStepPlusTheRestTimesTheFullStep()
    {
        var e = CostEstimate.Compute(new CostPlan(DoCo, []), Probe());
        Assert.Equal(1000 * 1.5 + 1000 * 4.0, Phase(e, "training"), 9);
        Assert.Equal(1000 * 1.5 + 1000 * 4.0, e.TotalSeconds, 9);

        // More steps, fewer warm-up steps, a resumed run: each moves the estimate by its own count.
        Assert.Equal(1000 * 1.5 + 3000 * 4.0, Phase(CostEstimate.Compute(new CostPlan(DoCo with { Steps = 4000 }, []), Probe()), "training"), 9);
        Assert.Equal(10 * 1.5 + 1990 * 4.0, Phase(CostEstimate.Compute(new CostPlan(DoCo with { Warmup = 10 }, []), Probe()), "training"), 9);
        var resumed = CostEstimate.Compute(new CostPlan(DoCo, [], StepsDone: 1500), Probe());
        Assert.Equal(500 * 4.0, Phase(resumed, "training"), 9);
        Assert.Contains("resuming at step 1500", resumed.Phases[0].Work, StringComparison.Ordinal);
    }

    [Fact]
    public void IterationsTimedAtASmallerBatch_ScaleAsTheForwardPassDoes_AtMostLinearly()
    {
        // Timed at batch 1 (UNet batch 2: 0.5 s); the run's 2B = 16 takes 3.2 s: ×6.4, not ×8.
        var p = Probe(stepBatch: 1);
        Assert.Equal(6.4, p.StepScale(8), 9);
        Assert.Equal(1000 * 1.5 * 6.4 + 1000 * 4.0 * 6.4, Phase(CostEstimate.Compute(new CostPlan(DoCo, []), p), "training"), 6);
        // A noisy larger timing never makes a batch cost more than in proportion.
        var noisy = p with { Forward = new Dictionary<int, double> { [2] = 0.5, [16] = 9.0 } };
        Assert.Equal(8, noisy.StepScale(8), 9);
    }

    [Fact]
    public void Ca_AndEsd_CountTheirOwnIterations_EsdWithItsExpectedPartialSampling()
    {
        var ca = ErasureSettings.ForMethod(ErasureMethod.ConceptAblation) with { Batch = 8 };
        Assert.Equal(100 * 4.0, Phase(CostEstimate.Compute(new CostPlan(ca, []), Probe()), "training (CA)"), 9);

        // ESD, batch 8: k ~ U{0..49} guided DDIM calls then θ*'s, each a UNet call at 2B = 16 (3.2 s).
        var esd = ErasureSettings.ForMethod(ErasureMethod.Esd) with { Batch = 8, EsdDdimSteps = 50 };
        var e = CostEstimate.Compute(new CostPlan(esd, []), Probe());
        Assert.Equal(1000 * (4.0 + (49 / 2.0 + 1) * 3.2), Phase(e, "training (ESD)"), 6);
    }

    [Fact]
    public void ForwardSeconds_MeasuredInterpolatedOrScaledPerImage()
    {
        var p = new ProbeTimes { Backend = "test", Forward = new Dictionary<int, double> { [2] = 1.0, [10] = 3.0 } };
        Assert.Equal(3.0, p.ForwardSeconds(10));
        Assert.Equal(2.0, p.ForwardSeconds(6), 12);   // the line through (2, 1) and (10, 3)
        Assert.Equal(6.0, p.ForwardSeconds(20), 12);  // the largest's 0.3 s per image
        Assert.Equal(0.5, p.ForwardSeconds(1), 12);   // the smallest's 0.5 s per image
    }

    [Fact]
    public void Plan_CountsWarmupAndFullSteps_AndTheWorkInImagePasses()
    {
        var plan = new CostPlan(DoCo with { Steps = 10, Warmup = 4, Batch = 2 }, [Anchors(images: 8, steps: 3)], StepsDone: 1);
        Assert.Equal(3, plan.WarmupSteps);
        Assert.Equal(6, plan.FullSteps);
        // anchors 8×3×2, warm-up 3B each, full 3B + 8B each (a backward counts as two forwards).
        Assert.Equal(8 * 3 * 2 + 3 * (3 * 2) + 6 * (11 * 2), plan.ImagePasses, 9);
        Assert.Equal(0, new CostPlan(ErasureSettings.ForMethod(ErasureMethod.ConceptAblation), []).WarmupSteps);
        // A run shorter than the probe is not worth probing before it; the paper's run is.
        var shortRun = new CostPlan(DoCo with { Steps = 2, Warmup = 1, Batch = 1 }, [Anchors(images: 2, steps: 1)]);
        Assert.True(CostProbe.MinimumImagePasses(shortRun) > 0.1 * shortRun.ImagePasses);
        var paper = new CostPlan(DoCo, [Anchors()]);
        Assert.Equal(1000 * 25 * 2 + 1000 * 3 * 8 + 1000 * 11 * 8, paper.ImagePasses, 9);
        Assert.True(CostProbe.MinimumImagePasses(paper) < 1e-3 * paper.ImagePasses);
    }

    [Theory]
    [InlineData(0.012, "12 ms")]
    [InlineData(4.2, "4.2 s")]
    [InlineData(42, "42 s")]
    [InlineData(600, "10 min")]
    [InlineData(3 * 3600 + 1800, "3.5 h")]
    [InlineData(2.5 * 86400, "2.5 days")]
    public void Duration_ReadsAtAGlance(double seconds, string text) => Assert.Equal(text, CostEstimate.Duration(seconds));

    [Fact]
    public void Table_ListsEachPhase_TheTotal_AndTheBackend()
    {
        var e = CostEstimate.Compute(new CostPlan(DoCo, [Anchors()]), Probe(stepBatch: 1));
        string table = e.Table();
        Assert.Contains("estimate on test", table, StringComparison.Ordinal);
        Assert.Contains("1000 images × 25 DDIM steps × 2 (guidance)", table, StringComparison.Ordinal);
        Assert.Contains("1000 warm-up (D only) + 1000 full steps, batch 8", table, StringComparison.Ordinal);
        Assert.Contains("DoCo iteration at batch 1", table, StringComparison.Ordinal);
        Assert.Contains("total", table, StringComparison.Ordinal);
        Assert.Contains(CostEstimate.Duration(e.TotalSeconds), table, StringComparison.Ordinal);
    }
}
