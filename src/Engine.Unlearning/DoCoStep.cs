using System.Diagnostics;
using Engine.Models.Unet;
using Engine.Tensors;
using Engine.Unlearning.Telemetry;

namespace Engine.Unlearning;

public sealed partial class ErasureTrainer
{
    /// <summary>
    /// One DoCo iteration (doco-spec §2.2 with the §7 defaults):
    /// batch [instance half: anchor image + target prompt; class half: anchor image + anchor prompt], uniform t per
    /// sample, x_t; θ₀'s anchor prediction ε̂_a on the instance half with its anchor captions (original weights swapped
    /// in); the trainable forward on all 2B, one forward per half; x̂0 of both; after warm-up the generator update (L_adv through D, L_ret on
    /// the class half, surgery or the plain weighted sum); then the discriminator update on the pre-update x̂0s.
    /// </summary>
    private StepRecord DoCoStep()
    {
        var s = Settings;
        var d = Discriminator!;
        int b = s.Batch, b2 = 2 * b;
        // Warm-up: the first `Warmup` iterations train D only (§2.2 step 8; §7.13 allows ≥ instead of the official >).
        bool warmup = Step < s.Warmup;
        SampleBatch(b2);
        AddNoise(b2);

        // 6. Frozen anchor prediction on the instance half: same x_t and t, anchor captions, θ₀.
        long t0 = Stopwatch.GetTimestamp();
        _w.Reset();
        SwapOriginalIn();
        var epsA = _unet.Forward(_w, Head(_xt, b), _timesteps.AsSpan(0, b), Head(_ehsAnchor, b));
        _ops.Copy(Head(_epsFrozen, b), epsA);
        SwapOriginalOut();
        double anchorSeconds = Seconds(t0);

        // 5. Trainable prediction on all 2B, one forward per half (their activations stay in _w for the backward
        // passes): the twin keeps the class half's, so each backward runs over the B samples whose loss it
        // differentiates instead of 2B with half the gradient zero. Per sample the same arithmetic as one forward.
        t0 = Stopwatch.GetTimestamp();
        _w.Reset();
        var twin = ClassHalfTwin();
        _ops.Copy(Head(_epsHat, b), _unet.Forward(_w, Head(_xt, b), _timesteps.AsSpan(0, b), Head(_ehs, b)));
        _ops.Copy(Part(_epsHat, b, b), twin.Forward(_w, Part(_xt, b, b), _timesteps.AsSpan(b, b), Part(_ehs, b, b)));
        var epsHat = _epsHat;
        _lastEpsHat = epsHat;
        double trainableSeconds = Seconds(t0);

        // 7. x̂0 of both (the fake one is a function of θ through ε̂_u; the real one is a constant).
        PredictX0(_x0Fake, _x0FakeRaw, epsHat, b);
        PredictX0(_x0Real, _x0RealRaw, _epsFrozen, b);

        float lossAdv = float.NaN, lossRet = float.NaN, firedFraction = float.NaN, meanCos = float.NaN, gradNorm = float.NaN;
        float[] cosines = [];
        bool[] fired = [];
        double backwardSeconds = double.NaN, surgerySeconds = double.NaN, optimizerSeconds = double.NaN, discriminatorSeconds = 0;
        bool skipped = false;

        if (!warmup)
        {
            // 8a. L_adv and its gradient w.r.t. x̂0_fake (through D).
            t0 = Stopwatch.GetTimestamp();
            _ops.Fill(d.Parameters.Grads, 0f);
            if (s.DomainCorrection)
            {
                lossAdv = AdversarialLoss.Generator(_wd, d, Head(_x0Fake, b), Head(_dx0, b), _loss);
                ClampBackward(_dx0, b);
            }
            else
            {
                _ops.MseForward(_loss, Head(epsHat, b), Head(_epsFrozen, b));
                lossAdv = HostLoss();
            }
            discriminatorSeconds += Seconds(t0);
            // 8b. L_ret = mean‖ε̂_r − ε_r‖² on the class half.
            _ops.MseForward(_loss, Part(epsHat, b, b), Part(_noise, b, b));
            lossRet = HostLoss();
            skipped = !float.IsFinite(lossAdv) || !float.IsFinite(lossRet);
            if (!skipped)
            {
                t0 = Stopwatch.GetTimestamp();
                if (s.Surgery != SurgeryMode.None)
                {
                    // g_r first (into _gradR, the class half's backward), then g_u (left in Grads, the instance half's).
                    _ops.MseBackward(Part(_dEps, b, b), Part(epsHat, b, b), Part(_noise, b, b), 1f);
                    BackwardInto(twin, Part(_dEps, b, b), _gradR, zero: true);
                    AdversarialGradient(Head(_dEps, b), b, scale: 1f);
                    BackwardInto(_unet, Head(_dEps, b), _unet.Parameters.Grads, zero: true);
                    backwardSeconds = Seconds(t0);
                    if (CaptureGradients)
                    {
                        CapturedRetain = Host(_gradR);
                        CapturedUnlearn = Host(_unet.Parameters.Grads);
                    }

                    // 8c. Concept-preserving gradient: per tensor, pre-clipped (§4).
                    t0 = Stopwatch.GetTimestamp();
                    _ops.GradientSurgery(_unet.Parameters.Grads, _stats, _gradR, _unet.Parameters.Layout.TrainableSegments, s.SurgerySpec);
                    (cosines, fired, firedFraction, meanCos) = SurgeryTelemetry();
                    var (normU, normR, _, scaleR) = SurgeryNorms();
                    gradNorm = normU;
                    skipped = !float.IsFinite(normU) || !float.IsFinite(normR);
                    // §7.3 ablation: also descend L_ret with its clipped gradient.
                    if (!skipped && s.ApplyRetainGrad) _ops.Axpy(_unet.Parameters.Grads, s.RetainWeight * scaleR, _gradR);
                    surgerySeconds = Seconds(t0);
                    if (CaptureGradients) CapturedUpdate = Host(_unet.Parameters.Grads);
                }
                else
                {
                    // 8d. One backward of L_adv + prior·0.1·L_ret, global clip.
                    AdversarialGradient(Head(_dEps, b), b, scale: 1f);
                    _ops.MseBackward(Part(_dEps, b, b), Part(epsHat, b, b), Part(_noise, b, b), 0.1f * s.PriorLossWeight);
                    BackwardInto(_unet, Head(_dEps, b), _unet.Parameters.Grads, zero: true);
                    BackwardInto(twin, Part(_dEps, b, b), _unet.Parameters.Grads, zero: false);
                    backwardSeconds = Seconds(t0);
                    gradNorm = ClipGlobalNorm(_unet.Parameters.Grads, s.MaxGradNorm);
                    skipped = !float.IsFinite(gradNorm);
                }
                if (!skipped)
                {
                    t0 = Stopwatch.GetTimestamp();
                    GeneratorUpdate();
                    optimizerSeconds = Seconds(t0);
                }
            }
        }

        // 9. Discriminator update on the pre-update x̂0s, every iteration. Without the leak flag D's gradients start
        // from zero here (a standard GAN, §7.5); with it they keep ∇_φ BCE(D(fake), 0) from step 8a.
        float lossD = float.NaN, accReal = float.NaN, accFake = float.NaN;
        var buckets = TimestepBuckets.None;
        if (!skipped && s.DomainCorrection)
        {
            t0 = Stopwatch.GetTimestamp();
            if (warmup || !s.ReproduceOfficialDLeak) _ops.Fill(d.Parameters.Grads, 0f);
            var readout = AdversarialLoss.Discriminator(_wd, d, Head(_x0Real, b), Head(_x0Fake, b), _loss);
            (lossD, accReal, accFake) = (readout.Loss, readout.AccReal, readout.AccFake);
            buckets = Buckets(b, readout.SampleAccuracy);
            float dNorm = Norm(d.Parameters.Grads);
            skipped = !float.IsFinite(lossD) || !float.IsFinite(dNorm);
            if (!skipped)
            {
                DiscriminatorSteps++;
                _ops.AdamStep(d.Parameters.Weights, d.Parameters.Grads, _dm, _dv,
                    new Ops.AdamSpec(s.DiscriminatorLearningRate, s.DiscriminatorBeta1, s.DiscriminatorBeta2, s.AdamEps, 0f, Decoupled: false), DiscriminatorSteps);
            }
            discriminatorSeconds += Seconds(t0);
        }

        return new StepRecord(Step, warmup, skipped, lossAdv, lossRet, lossD, accReal, accFake, firedFraction, meanCos, cosines, fired,
            anchorSeconds, trainableSeconds, backwardSeconds, discriminatorSeconds, surgerySeconds, optimizerSeconds)
        { GradNorm = gradNorm, Buckets = buckets };
    }

    /// <summary>Per timestep bucket: the RMS of x̂0_fake − x̂0_real (the pre-update x̂0s D just saw) and D's accuracy.</summary>
    private TimestepBuckets Buckets(int b, float[] sampleAccuracy)
    {
        int img = _in.ImageSize;
        _ops.CopyToHost(_hostFake, Head(_x0Fake, b));
        _ops.CopyToHost(_hostReal, Head(_x0Real, b));
        Span<int> bucket = stackalloc int[b];
        Span<float> gap = stackalloc float[b];
        for (int i = 0; i < b; i++)
        {
            double sum = 0;
            for (int j = i * img; j < (i + 1) * img; j++)
            {
                double e = _hostFake[j] - _hostReal[j];
                sum += e * e;
            }
            gap[i] = (float)Math.Sqrt(sum / img);
            bucket[i] = TimestepBuckets.Of((int)_timesteps[i], _schedule.NumTrainTimesteps);
        }
        return TimestepBuckets.Average(bucket, gap, sampleAccuracy);
    }

    private Tensor _lastEpsHat;

    /// <summary>Test hook: keep host copies of g_u, g_r (raw) and the surgery's output in the DoCo step.</summary>
    internal bool CaptureGradients { get; set; }
    internal float[]? CapturedUnlearn { get; private set; }
    internal float[]? CapturedRetain { get; private set; }
    internal float[]? CapturedUpdate { get; private set; }

    /// <summary>Test hooks: the last step's batch images (after any flip), x̂0 of the instance half before and after the clamp, and timesteps.</summary>
    internal float[] LastImages => Host(_z);
    internal float[] LastX0Fake => Host(Head(_x0Fake, Settings.Batch));
    internal float[] LastX0FakeRaw => Host(Head(_x0FakeRaw, Settings.Batch));
    internal int[] LastTimesteps => [.. _timesteps.Select(t => (int)t)];

    private float[] Host(Tensor t)
    {
        var h = new float[t.Numel];
        _ops.CopyToHost(h, t);
        return h;
    }

    /// <summary>dε̂_u = scale · dL/dx̂0 · ∂x̂0/∂ε̂ = −scale·√(1−ᾱ)/√ᾱ · dx̂0, per instance sample (−scale·dx̂0 with FlatAdversarialWeight).</summary>
    private void AdversarialGradient(Tensor dEpsHead, int b, float scale)
    {
        int img = _in.ImageSize;
        if (!Settings.DomainCorrection)
        {
            // The ablation's unlearning gradient: d/dε̂_u of mean‖ε̂_u − sg[ε̂_a]‖².
            _ops.MseBackward(dEpsHead, Head(_lastEpsHat, b), Head(_epsFrozen, b), scale);
            return;
        }
        for (int i = 0; i < b; i++)
        {
            var y = dEpsHead.Slice((long)i * img, img);
            float chain = Settings.FlatAdversarialWeight ? 1f : SqrtOneMinusAlphaBar(i) / SqrtAlphaBar(i);
            _ops.Scale(y, _dx0.Slice((long)i * img, img), -scale * chain);
        }
    }

    private UNet2DConditionModel? _twin;

    /// <summary>The UNet's twin for the class half (made on the first DoCo step), with the UNet's current BOS detach.</summary>
    private UNet2DConditionModel ClassHalfTwin()
    {
        _twin ??= _unet.Twin();
        _twin.DetachBosKeyValue = _unet.DetachBosKeyValue;
        return _twin;
    }

    /// <summary>
    /// Back-propagates dε̂ through <paramref name="model"/>'s saved forward into <paramref name="into"/>: the
    /// parameters' gradients are zeroed first when <paramref name="zero"/>, else added to.
    /// </summary>
    private void BackwardInto(UNet2DConditionModel model, Tensor dEps, Tensor into, bool zero)
    {
        var grads = _unet.Parameters.Grads;
        if (zero) ZeroGrads();
        var mark = _w.Gradients.Mark();
        model.Backward(_w, dEps, Tensor.None, Tensor.None);
        _w.Gradients.Release(mark);
        if (into.Ptr != grads.Ptr) _ops.Copy(into, grads);
    }

    /// <summary>Back-propagates dε̂ (the batch of the last trainable forward) into <paramref name="into"/> (zeroed first).</summary>
    private void BackwardInto(Tensor dEps, Tensor into) => BackwardInto(_unet, dEps, into, zero: true);
}
