namespace Engine.Models.Unlearning.Telemetry;

/// <summary>
/// One training step as <see cref="TrainingLog"/> records it: the fields of the trainer's StepRecord, in the same order
/// (see StepRecordShape.md), so that this folder does not depend on the trainer. Cosines and Fired hold one entry per
/// trainable tensor, in the order of the names the log was opened with; losses of a skipped step may be NaN.
/// </summary>
public sealed record TelemetryRow(int Step, bool Warmup, bool Skipped, float LossAdv, float LossRet, float LossD, float DAccReal, float DAccFake,
    float FiredFraction, float MeanCosine, float[] Cosines, bool[] Fired, double AnchorSeconds, double TrainableSeconds, double BackwardSeconds,
    double DiscriminatorSeconds, double SurgerySeconds, double OptimizerSeconds)
{
    /// <summary>The adversarial signal per timestep range (<see cref="TimestepBuckets"/>).</summary>
    public TimestepBuckets Buckets { get; init; } = TimestepBuckets.None;
}
