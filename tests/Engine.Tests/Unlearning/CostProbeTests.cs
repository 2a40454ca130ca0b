using Engine.Unlearning;
using Engine.Unlearning.Cost;

namespace Engine.Tests.Unlearning;

/// <summary>
/// <see cref="CostProbe"/> on the tiny-sd UNet: it times what the run has (and nothing it has not), and leaves the
/// UNet's weights as it found them, although its DoCo, CA and ESD iterations update them.
/// </summary>
public sealed class CostProbeTests
{
    [Theory]
    [InlineData(ErasureMethod.DoCo, 4, 2)]
    [InlineData(ErasureMethod.DoCo, 4, 4)]
    [InlineData(ErasureMethod.ConceptAblation, 2, 0)]
    [InlineData(ErasureMethod.Esd, 2, 0)]
    public void Probe_TimesEachKindTheRunHas_AndLeavesTheWeights(ErasureMethod method, int steps, int warmup)
    {
        using var t = new TinyTrainer(TrainableSubsets.Predicate(TrainableSubset.KeyValue));
        var before = t.Unet.Parameters.Weights.AsSpan().ToArray();
        var settings = ErasureSettings.ForMethod(method) with { Steps = steps, Warmup = warmup, Batch = 2, EsdDdimSteps = 3 };
        var plan = new CostPlan(settings, [SamplingWork.Chunked("anchor images", images: 4, steps: 2, guided: true, batch: 2)]);
        // A budget of ~0: the smallest batches, two calls of each.
        var probe = new CostProbe(t.Ops, t.Unet, t.Scheduler, t.Inputs.Length, t.Inputs.Dim) { BudgetSeconds = 1e-9 }.Run(plan);

        Assert.True(t.Unet.Parameters.Weights.AsSpan().SequenceEqual(before), "the probe changed the UNet's weights");
        Assert.Equal(1, probe.StepBatch);
        Assert.Equal([2], probe.Forward.Keys);
        Assert.Equal(plan.WarmupSteps > 0, double.IsFinite(probe.WarmupStepSeconds));
        Assert.Equal(plan.FullSteps > 0, double.IsFinite(probe.StepSeconds));
        Assert.StartsWith("cpu", probe.Backend, StringComparison.Ordinal);
    }

    [Fact]
    public void Probe_TimesTheAnchorChunksBatch_NotAPromptsWholeCall()
    {
        // The paper's anchor calls (63 and 62 images each) run 2 at a time: UNet batches of 4 and 2, never 126.
        using var t = new TinyTrainer(TrainableSubsets.Predicate(TrainableSubset.KeyValue));
        var settings = new ErasureSettings { Steps = 2, Warmup = 1, Batch = 1 };
        var plan = new CostPlan(settings, [SamplingWork.Chunked("anchor images", Engine.Unlearning.Data.AnchorImageCache.ImagesPerCall(1000, 16), 25, guided: true, batch: 2)]);
        // A budget that would take the doubling far past 4 if the plan asked for it.
        var probe = new CostProbe(t.Ops, t.Unet, t.Scheduler, t.Inputs.Length, t.Inputs.Dim) { BudgetSeconds = 60 }.Run(plan);
        Assert.Equal([2, 4], probe.Forward.Keys.Order());
    }
}
