using Engine.Ops;
using Engine.Tensors;

namespace Engine.Unlearning;

public sealed partial class ErasureTrainer
{
    /// <summary>Puts θ₀ (the original trainable values) into the UNet; the current values wait in _swap.</summary>
    private void SwapOriginalIn()
    {
        var weights = _unet.Parameters.TrainableWeights;
        _ops.Copy(_swap, weights);
        _ops.Copy(weights, _original);
    }

    /// <summary>Restores the current trainable values after <see cref="SwapOriginalIn"/>.</summary>
    private void SwapOriginalOut() => _ops.Copy(_unet.Parameters.TrainableWeights, _swap);

    /// <summary>The original trainable values θ₀ (read only), e.g. for a delta against the trained weights.</summary>
    public Tensor OriginalTrainableWeights => _original;

    /// <summary>‖g‖ of a flat buffer (double accumulation inside SumSquares, fixed order).</summary>
    private float Norm(Tensor g)
    {
        _ops.SumSquares(_loss, g);
        return MathF.Sqrt(HostLoss());
    }

    /// <summary>
    /// torch.nn.utils.clip_grad_norm_: scales g by max/(‖g‖ + 1e-6) when that is below 1. Returns ‖g‖ before clipping
    /// (NaN or ∞ leave g untouched: the caller skips the step).
    /// </summary>
    private float ClipGlobalNorm(Tensor g, float maxNorm)
    {
        float norm = Norm(g);
        if (maxNorm > 0 && float.IsFinite(norm))
        {
            double scale = maxNorm / (norm + 1e-6);
            if (scale < 1) _ops.Scale(g, g, (float)scale);
        }
        return norm;
    }

    /// <summary>The UNet optimizer step: AdamW (DoCo, CA) or Adam (ESD) over the trainable range.</summary>
    private void GeneratorUpdate()
    {
        var s = Settings;
        GeneratorSteps++;
        _ops.AdamStep(_unet.Parameters.TrainableWeights, _unet.Parameters.Grads, _m, _v,
            new AdamSpec(s.LearningRate, s.Beta1, s.Beta2, s.AdamEps, s.WeightDecay, s.DecoupledWeightDecay), GeneratorSteps);
    }

    private void ZeroGrads() => _ops.Fill(_unet.Parameters.Grads, 0f);

    /// <summary>
    /// Concept Ablation's and ESD's generator update: the UNet backward from dε̂ into the gradients, the global-norm
    /// clip, the optimizer step. A non-finite norm skips the step. Returns the phases' seconds and ‖g‖ before clipping.
    /// </summary>
    private (double BackwardSeconds, double OptimizerSeconds, float GradNorm, bool Skipped) RegressionUpdate(Tensor dEps)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        BackwardInto(dEps, _unet.Parameters.Grads);
        double backward = Seconds(t0);
        t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        float norm = ClipGlobalNorm(_unet.Parameters.Grads, Settings.MaxGradNorm);
        bool skipped = !float.IsFinite(norm);
        if (!skipped) GeneratorUpdate();
        return (backward, Seconds(t0), norm, skipped);
    }

    /// <summary>The per-tensor surgery telemetry from the stats rows: cosines, fired flags, fraction and mean cosine.</summary>
    private (float[] Cos, bool[] Fired, float Fraction, float Mean) SurgeryTelemetry()
    {
        int n = _unet.Parameters.Layout.TrainableSegments.Count;
        _ops.CopyToHost(_hostStats, _stats);
        var cos = new float[n];
        var fired = new bool[n];
        double sum = 0;
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            cos[i] = _hostStats[4 * i];
            fired[i] = _hostStats[4 * i + 1] != 0f;
            sum += cos[i];
            if (fired[i]) count++;
        }
        return (cos, fired, n > 0 ? (float)count / n : 0f, n > 0 ? (float)(sum / n) : 0f);
    }

    /// <summary>‖g_u‖, ‖g_r‖ before clipping and the clip scales s_u, s_r (the stats' last row).</summary>
    private (float NormU, float NormR, float ScaleU, float ScaleR) SurgeryNorms()
    {
        int n = _unet.Parameters.Layout.TrainableSegments.Count;
        return (_hostStats[4 * n], _hostStats[4 * n + 1], _hostStats[4 * n + 2], _hostStats[4 * n + 3]);
    }
}
