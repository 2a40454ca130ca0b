using Engine.Tests.Testing;
using Engine.Unlearning;

namespace Engine.Tests.Unlearning;

/// <summary>The erasure trainer on the tiny-sd fixture: surgery wiring, the D leak flag, resume, NaN skipping.</summary>
public sealed class TrainerTests
{
    private static readonly Func<string, bool> KeyValue = TrainableSubsets.Predicate(TrainableSubset.KeyValue);

    /// <summary>A short DoCo run: batch 1, 1 warm-up step, small steps so the numbers stay tame.</summary>
    private static ErasureSettings Short(int steps = 3) => new()
    {
        Steps = steps,
        Warmup = 1,
        Batch = 1,
        LearningRate = 1e-3f,
        DiscriminatorLearningRate = 1e-3f,
        CheckpointInterval = 0,
        Seed = 5,
    };

    [Fact]
    public void Surgery_TwoTensors_EqualsTheHandComputedProjection()
    {
        // Only two tensors train, so the per-tensor rule can be computed by hand from the captured g_u and g_r.
        string k = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        string v = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight";
        using var tiny = new TinyTrainer(n => n == k || n == v);
        var segments = tiny.Unet.Parameters.Layout.TrainableSegments;
        Assert.Equal(2, segments.Count);
        foreach (var (rule, lambda) in new[] { (SurgeryMode.Projection, 1f), (SurgeryMode.Projection, 0.5f), (SurgeryMode.Official, 1f) })
        {
            using var trainer = tiny.Trainer(Short(2) with { Warmup = 0, Surgery = rule, Lambda = lambda, MaxGradNorm = 0.05f });
            trainer.CaptureGradients = true;
            var record = trainer.TrainStep();
            Assert.False(record.Skipped);
            var gu = trainer.CapturedUnlearn!;
            var gr = trainer.CapturedRetain!;
            var got = trainer.CapturedUpdate!;
            // Global-norm pre-clipping of each gradient (§4 step 1-2), then the rule per tensor (§4 step 3).
            double su = Clip(gu, 0.05), sr = Clip(gr, 0.05);
            var expected = new double[gu.Length];
            for (int s = 0; s < 2; s++)
            {
                int a = (int)segments.Offsets[s], e = (int)segments.Offsets[s + 1];
                double uu = 0, rr = 0, ur = 0;
                for (int i = a; i < e; i++)
                {
                    double u = su * gu[i], r = sr * gr[i];
                    uu += u * u;
                    rr += r * r;
                    ur += u * r;
                }
                double coefR;
                if (rule == SurgeryMode.Projection)
                    coefR = ur < 0 ? -lambda * ur / rr : 0;
                else
                {
                    double cos = ur / ((Math.Sqrt(uu) + 1e-8) * (Math.Sqrt(rr) + 1e-8));
                    coefR = cos < 0 ? -lambda * cos / (Math.Sqrt(rr) + 1e-8) : 0;
                }
                Assert.Equal(coefR != 0, record.Fired[s]);
                for (int i = a; i < e; i++) expected[i] = su * gu[i] + coefR * sr * gr[i];
            }
            Close.Assert($"surgery {rule} λ={lambda}", got, expected, rtol: 1e-4, atol: 1e-9);
        }
    }

    private static double Clip(float[] g, double max)
    {
        double n = Math.Sqrt(g.Sum(x => (double)x * x));
        return Math.Min(1.0, max / (n + 1e-6));
    }

    [Fact]
    public void LeakFlag_ChangesOnlyTheDiscriminator()
    {
        using var tiny = new TinyTrainer(KeyValue);
        var original = tiny.TrainableWeights();
        float[] Run(bool leak, out float[] d)
        {
            tiny.Unet.Parameters.TrainableWeights.AsSpan().Clear();
            original.CopyTo(tiny.Unet.Parameters.TrainableWeights.AsSpan());
            using var trainer = tiny.Trainer(Short(2) with { ReproduceOfficialDLeak = leak });
            trainer.TrainStep();
            trainer.TrainStep(); // the first post-warm-up step: G then D
            d = trainer.Discriminator!.Parameters.Weights.AsSpan().ToArray();
            return tiny.TrainableWeights();
        }
        var g0 = Run(false, out var d0);
        var g1 = Run(true, out var d1);
        Close.Bitwise("generator weights", g0, g1);
        Assert.False(d0.AsSpan().SequenceEqual(d1), "the leak must change D's update");
    }

    [Fact]
    public void Resume_IsBitIdentical_ToAnUninterruptedRun()
    {
        using var tiny = new TinyTrainer(KeyValue);
        var original = tiny.TrainableWeights();
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var settings = Short(6) with { Warmup = 2, Batch = 2 };
            using var straight = tiny.Trainer(settings);
            Assert.True(straight.Run(null, null));
            var gStraight = tiny.TrainableWeights();
            var dStraight = straight.Discriminator!.Parameters.Weights.AsSpan().ToArray();
            Assert.Equal(4, straight.GeneratorSteps);

            original.CopyTo(tiny.Unet.Parameters.TrainableWeights.AsSpan());
            var ckpt = Path.Combine(dir.FullName, "run.safetensors");
            using (var first = tiny.Trainer(settings with { Steps = 3 }))
                first.Run(null, ckpt);
            original.CopyTo(tiny.Unet.Parameters.TrainableWeights.AsSpan());
            using var second = tiny.Trainer(settings);
            second.LoadCheckpoint(ckpt);
            Assert.Equal(3, second.Step);
            second.Run(null, ckpt);
            Close.Bitwise("UNet trainable weights", gStraight, tiny.TrainableWeights());
            Close.Bitwise("discriminator weights", dStraight, second.Discriminator!.Parameters.Weights.AsSpan());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Checkpoint_FromAnotherRun_IsRejected()
    {
        using var tiny = new TinyTrainer(KeyValue);
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var ckpt = Path.Combine(dir.FullName, "run.safetensors");
            using (var a = tiny.Trainer(Short(1)))
                a.Run(null, ckpt);
            using var b = tiny.Trainer(Short(1) with { Seed = 6 });
            var e = Assert.Throws<InvalidDataException>(() => b.LoadCheckpoint(ckpt));
            Assert.Contains("seed", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void NaN_SkipsTheStep_AndLeavesTheStateAlone()
    {
        using var tiny = new TinyTrainer(KeyValue);
        using var trainer = tiny.Trainer(Short(3));
        trainer.TrainStep(); // warm-up, D trains
        var d = trainer.Discriminator!.Parameters.Weights.AsSpan().ToArray();
        var w = tiny.Unet.Parameters.TrainableWeights.AsSpan();
        w[0] = float.NaN; // ε̂ of the trainable pass becomes NaN, so L_adv does
        var before = w.ToArray();
        var records = new List<StepRecord>();
        trainer.Run(records.Add, null);
        Assert.All(records, r => Assert.True(r.Skipped));
        Assert.Equal(2, trainer.SkippedSteps);
        Assert.Equal(0, trainer.GeneratorSteps);
        Assert.Equal(1, trainer.DiscriminatorSteps);
        Close.Bitwise("UNet weights", before, tiny.TrainableWeights());
        Close.Bitwise("D weights", d, trainer.Discriminator.Parameters.Weights.AsSpan());
    }

    [Fact]
    public void StepRecord_DoCo_HasLossesAndSurgeryTelemetry()
    {
        using var tiny = new TinyTrainer(KeyValue);
        using var trainer = tiny.Trainer(Short(2));
        var warm = trainer.TrainStep();
        Assert.True(warm.Warmup);
        Assert.True(float.IsNaN(warm.LossAdv));
        Assert.True(float.IsFinite(warm.LossD));
        var step = trainer.TrainStep();
        Assert.False(step.Warmup);
        Assert.True(float.IsFinite(step.LossAdv) && float.IsFinite(step.LossRet) && float.IsFinite(step.LossD));
        int n = tiny.Unet.Parameters.Layout.TrainableSegments.Count;
        Assert.Equal(n, step.Cosines.Length);
        Assert.Equal(n, step.Fired.Length);
        Assert.Equal(step.Fired.Count(f => f) / (float)n, step.FiredFraction);
        Assert.InRange(step.DAccReal, 0f, 1f);
        Assert.True(step.SurgerySeconds >= 0 && step.AnchorSeconds >= 0 && step.OptimizerSeconds >= 0);
    }

    [Theory]
    [InlineData(ErasureMethod.ConceptAblation)]
    [InlineData(ErasureMethod.Esd)]
    public void Baselines_TrainAndChangeOnlyTheirSubset(ErasureMethod method)
    {
        var settings = ErasureSettings.ForMethod(method) with { Steps = 2, Batch = 1, EsdDdimSteps = 3, LearningRate = 1e-3f, CheckpointInterval = 0 };
        using var tiny = new TinyTrainer(TrainableSubsets.Predicate(settings.Subset));
        var before = tiny.TrainableWeights();
        var frozenBefore = tiny.Unet.Parameters.Weights.AsSpan()[(int)tiny.Unet.Parameters.Layout.TrainableCount..].ToArray();
        using var trainer = tiny.Trainer(settings);
        var records = new List<StepRecord>();
        trainer.Run(records.Add, null);
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.True(float.IsFinite(r.LossAdv) && !r.Skipped));
        Assert.Equal(2, trainer.GeneratorSteps);
        Assert.False(before.AsSpan().SequenceEqual(tiny.TrainableWeights()));
        Close.Bitwise("frozen weights", frozenBefore, tiny.Unet.Parameters.Weights.AsSpan()[(int)tiny.Unet.Parameters.Layout.TrainableCount..]);
    }
}
