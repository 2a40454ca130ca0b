using System.Diagnostics;

namespace Engine.Unlearning;

public sealed partial class ErasureTrainer
{
    /// <summary>
    /// One Concept Ablation iteration (doco-spec §5.1): x_t from anchor images; the trainable UNet conditioned on the
    /// target prompt is pulled to sg[ε_θ(x_t, c_a, t)] from the current UNet under no-grad (model-based) or to ε
    /// (noise-based); with prior preservation + prior·‖ε_θ(x'_t, c_a) − ε'‖² on the class half. Clip 1.0, AdamW.
    /// No augmentation here, so CA's masked mean is the plain mean.
    /// LossAdv holds the ablation loss, LossRet the prior loss.
    /// </summary>
    private StepRecord AblationStep()
    {
        var s = Settings;
        int b = s.Batch, n = s.PriorPreservation ? 2 * b : b;
        SampleBatch(n);
        AddNoise(n);

        double anchorSeconds = double.NaN;
        var target = Head(_noise, b);
        long t0;
        if (s.AblationTarget == AblationTarget.Model)
        {
            // The current weights, not θ₀ (CA's diffusers code; §1 "Model copies").
            t0 = Stopwatch.GetTimestamp();
            _w.Reset();
            var epsA = _unet.Forward(_w, Head(_xt, b), _timesteps.AsSpan(0, b), Head(_ehsAnchor, b));
            _ops.Copy(Head(_epsFrozen, b), epsA);
            target = Head(_epsFrozen, b);
            anchorSeconds = Seconds(t0);
        }

        t0 = Stopwatch.GetTimestamp();
        _w.Reset();
        var eps = _unet.Forward(_w, Head(_xt, n), _timesteps.AsSpan(0, n), Head(_ehs, n));
        double trainableSeconds = Seconds(t0);

        _ops.MseForward(_loss, Head(eps, b), target);
        float loss = HostLoss(), prior = float.NaN;
        _ops.MseBackward(Head(_dEps, b), Head(eps, b), target, 1f);
        if (s.PriorPreservation)
        {
            _ops.MseForward(_loss, Part(eps, b, b), Part(_noise, b, b));
            prior = HostLoss();
            _ops.MseBackward(Part(_dEps, b, b), Part(eps, b, b), Part(_noise, b, b), s.PriorLossWeight);
        }
        bool skipped = !float.IsFinite(loss) || (s.PriorPreservation && !float.IsFinite(prior));
        double backwardSeconds = double.NaN, optimizerSeconds = double.NaN;
        float gradNorm = float.NaN;
        if (!skipped) (backwardSeconds, optimizerSeconds, gradNorm, skipped) = RegressionUpdate(Head(_dEps, n));
        return new StepRecord(Step, false, skipped, loss, prior, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, [], [],
            anchorSeconds, trainableSeconds, backwardSeconds, double.NaN, double.NaN, optimizerSeconds)
        { GradNorm = gradNorm };
    }
}
