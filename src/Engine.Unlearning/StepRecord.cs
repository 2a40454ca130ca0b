namespace Engine.Unlearning;

/// <summary>
/// What one training iteration did, for logs and plots. Losses are NaN where the part did not run (L_adv and L_ret
/// during warm-up, L_D for CA and ESD). For CA, LossAdv holds the ablation loss; for ESD the ESD loss.
/// Cosines/Fired: per trainable tensor, from the gradient surgery (empty when no surgery ran).
/// Times in seconds, NaN where not applicable.
/// </summary>
public sealed record StepRecord(
    int Step,
    bool Warmup,
    bool Skipped,
    float LossAdv,
    float LossRet,
    float LossD,
    float DAccReal,
    float DAccFake,
    float FiredFraction,
    float MeanCosine,
    float[] Cosines,
    bool[] Fired,
    double AnchorSeconds,
    double TrainableSeconds,
    double BackwardSeconds,
    double DiscriminatorSeconds,
    double SurgerySeconds,
    double OptimizerSeconds)
{
    /// <summary>Global gradient norm of the update before clipping (g_u for DoCo), NaN when none was computed.</summary>
    public float GradNorm { get; init; } = float.NaN;

    /// <summary>DoCo's adversarial signal per timestep range (NaN where not measured).</summary>
    public Telemetry.TimestepBuckets Buckets { get; init; } = Telemetry.TimestepBuckets.None;
}
