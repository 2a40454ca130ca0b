using Engine.Tests.Testing;
using Engine.Unlearning;
using Engine.Unlearning.Telemetry;

namespace Engine.Tests.Unlearning;

/// <summary>
/// What feeds DoCo's adversarial loss: x̂0 clamped as the scheduler's clip_sample asks, the instance half's timestep
/// range, horizontal flips of the anchor images, the discriminator's size, and the per-timestep telemetry.
/// </summary>
public sealed class DoCoSignalTests
{
    private static readonly Func<string, bool> KeyValue = TrainableSubsets.Predicate(TrainableSubset.KeyValue);

    private static ErasureSettings Short(int steps = 2) => new()
    {
        Steps = steps,
        Warmup = 1,
        Batch = 2,
        LearningRate = 1e-3f,
        DiscriminatorLearningRate = 1e-3f,
        CheckpointInterval = 0,
        Seed = 9,
    };

    [Fact]
    public void X0_FollowsTheSchedulersClipSample()
    {
        using var tiny = new TinyTrainer(KeyValue);
        // Timesteps near T: the fixture's SD schedule multiplies ε̂'s error ~10× there, so raw x̂0 leaves [-1, 1].
        var high = Short(1) with { AdversarialTMin = 900 };
        using (var off = tiny.Trainer(high))
        {
            off.TrainStep();
            Assert.Contains(off.LastX0FakeRaw, v => Math.Abs(v) > 1.5f);
            Close.Bitwise("clip_sample false: x̂0 is the raw one", off.LastX0FakeRaw, off.LastX0Fake);
        }
        var clipped = new TinyTrainerScheduler(tiny, tiny.Scheduler with { ClipSample = true, ClipSampleRange = 1f });
        using var on = clipped.Trainer(high);
        on.TrainStep();
        var raw = on.LastX0FakeRaw;
        var x0 = on.LastX0Fake;
        Assert.Contains(raw, v => Math.Abs(v) > 1.5f);
        for (int i = 0; i < raw.Length; i++) Assert.Equal(Math.Clamp(raw[i], -1f, 1f), x0[i]);
    }

    [Fact]
    public void ClampedAwayX0_PassesNoAdversarialGradient()
    {
        // A clip range so small that every x̂0 value is cut: dL_adv/dθ is zero, so with no weight decay and no retain
        // term in the update (the surgery only removes conflicts from g_u = 0) the UNet does not move.
        using var tiny = new TinyTrainer(KeyValue);
        var cut = new TinyTrainerScheduler(tiny, tiny.Scheduler with { ClipSample = true, ClipSampleRange = 1e-9f });
        using var trainer = cut.Trainer(Short(2) with { WeightDecay = 0f });
        var before = tiny.TrainableWeights();
        trainer.TrainStep();
        var step = trainer.TrainStep();
        Assert.False(step.Warmup);
        Assert.Equal(1, trainer.GeneratorSteps);
        Close.Bitwise("UNet K/V", before, tiny.TrainableWeights());
    }

    [Fact]
    public void FlatAdversarialWeight_DropsTheChainRulesFactor()
    {
        // One instance sample at a fixed t: the official unlearning gradient is the flat one times √(1−ᾱ_t)/√ᾱ_t.
        const int T = 700;
        float[] Unlearn(bool flat)
        {
            using var tiny = new TinyTrainer(KeyValue);
            using var trainer = tiny.Trainer(Short(2) with { Batch = 1, AdversarialTMin = T, AdversarialTMax = T + 1, FlatAdversarialWeight = flat });
            trainer.CaptureGradients = true;
            trainer.TrainStep();
            trainer.TrainStep();
            Assert.Equal(T, trainer.LastTimesteps[0]);
            return trainer.CapturedUnlearn!;
        }
        var official = Unlearn(false);
        var flat = Unlearn(true);
        using var tiny = new TinyTrainer(KeyValue);
        float abar = new Engine.Diffusion.Schedulers.NoiseSchedule(tiny.Scheduler).AlphasCumprod[T];
        double chain = Math.Sqrt(1 - abar) / Math.Sqrt(abar);
        Assert.Contains(flat, v => v != 0);
        Close.Assert("official = chain · flat", official, flat.Select(v => v * chain).ToArray(), rtol: 1e-4, atol: 1e-7);
    }

    [Fact]
    public void AdversarialRange_BoundsTheInstanceHalfOnly()
    {
        using var tiny = new TinyTrainer(KeyValue);
        using var trainer = tiny.Trainer(Short(12) with { Warmup = 12, AdversarialTMin = 200, AdversarialTMax = 300 });
        var classHalf = new List<int>();
        for (int s = 0; s < 12; s++)
        {
            trainer.TrainStep();
            var t = trainer.LastTimesteps;
            Assert.InRange(t[0], 200, 299);
            Assert.InRange(t[1], 200, 299);
            classHalf.AddRange(t[2..4]);
        }
        Assert.Contains(classHalf, t => t < 200 || t >= 300);
    }

    [Fact]
    public void HFlip_MirrorsSomeImages_AndLeavesOthers()
    {
        using var tiny = new TinyTrainer(KeyValue, images: 1);
        int w = tiny.Inputs.Width, img = tiny.Inputs.ImageSize;
        var original = tiny.Inputs.Images.AsSpan(0, img).ToArray();
        var mirrored = new float[img];
        for (int row = 0; row < img; row += w)
            for (int x = 0; x < w; x++) mirrored[row + x] = original[row + w - 1 - x];
        using var trainer = tiny.Trainer(Short(8) with { Warmup = 8, HFlip = true });
        int flipped = 0, kept = 0;
        for (int s = 0; s < 8; s++)
        {
            trainer.TrainStep();
            var z = trainer.LastImages;
            for (int i = 0; i < 4; i++)
            {
                var sample = z.AsSpan(i * img, img);
                if (sample.SequenceEqual(mirrored)) flipped++;
                else if (sample.SequenceEqual(original)) kept++;
                else Assert.Fail($"step {s} sample {i} is neither the image nor its mirror");
            }
        }
        Assert.InRange(flipped, 4, 28);
        Assert.Equal(32, flipped + kept);
    }

    [Fact]
    public void HFlip_IsDoCosDefault_AsInTheOfficialReadme_NotCaOrEsds()
    {
        Assert.True(ErasureSettings.ForMethod(ErasureMethod.DoCo).HFlip);
        Assert.False(ErasureSettings.ForMethod(ErasureMethod.ConceptAblation).HFlip);
        Assert.False(ErasureSettings.ForMethod(ErasureMethod.Esd).HFlip);
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 32)]
    public void SmallerDiscriminator_TrainsAndHasFewerParameters(int layers, int width)
    {
        using var tiny = new TinyTrainer(KeyValue);
        using var official = tiny.Trainer(Short(1));
        using var small = tiny.Trainer(Short(2) with { DiscriminatorLayers = layers, DiscriminatorWidth = width });
        Assert.True(small.Discriminator!.Parameters.Layout.TotalCount < official.Discriminator!.Parameters.Layout.TotalCount);
        small.TrainStep();
        var r = small.TrainStep();
        Assert.True(float.IsFinite(r.LossAdv) && float.IsFinite(r.LossD));
    }

    [Fact]
    public void AdversarialRangePastTheSchedule_IsRefused()
    {
        using var tiny = new TinyTrainer(KeyValue);
        var e = Assert.Throws<ArgumentException>(() => tiny.Trainer(Short(1) with { AdversarialTMin = 1000 }));
        Assert.Contains("starts at 1000, past the schedule's 1000 timesteps", e.Message);
    }

    [Fact]
    public void TooDeepDiscriminator_IsRefused()
    {
        using var tiny = new TinyTrainer(KeyValue);
        // 32×32 latents: 3 layers leave 2×2 patches; 4 would leave none (the conv would fail mid-step).
        tiny.Trainer(Short(1) with { DiscriminatorLayers = 3 }).Dispose();
        var e = Assert.Throws<ArgumentException>(() => tiny.Trainer(Short(1) with { DiscriminatorLayers = 4 }));
        Assert.Contains("leaves no patch of a 32×32 image (at most 3 layers fit)", e.Message);
    }

    [Fact]
    public void Telemetry_PerTimestepBucket_IsMeasuredWhereSamplesFell()
    {
        using var tiny = new TinyTrainer(KeyValue);
        // Both instance samples in the last quarter of the schedule: only that bucket is measured.
        using var trainer = tiny.Trainer(Short(1) with { AdversarialTMin = 800 });
        var r = trainer.TrainStep();
        Assert.True(float.IsNaN(r.Buckets.Gap[0]) && float.IsNaN(r.Buckets.Gap[1]) && float.IsNaN(r.Buckets.Gap[2]));
        Assert.True(r.Buckets.Gap[3] > 0);
        Assert.InRange(r.Buckets.Accuracy[3], 0f, 1f);
        Assert.Equal(3, TimestepBuckets.Of(999, 1000));
        Assert.Equal(0, TimestepBuckets.Of(0, 1000));
        Assert.Equal(1, TimestepBuckets.Of(250, 1000));
    }
}

/// <summary>The tiny fixture's trainer under another scheduler config (clip_sample on, say).</summary>
internal sealed class TinyTrainerScheduler(TinyTrainer tiny, Engine.Diffusion.Schedulers.SchedulerConfig scheduler)
{
    public ErasureTrainer Trainer(ErasureSettings settings) => new(tiny.Ops, tiny.Unet, scheduler, tiny.Inputs, settings);
}
