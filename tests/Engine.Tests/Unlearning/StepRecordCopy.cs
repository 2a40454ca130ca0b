namespace Engine.Tests.Unlearning;

/// <summary>
/// TEMPORARY copy of the trainer's Engine.Models.Unlearning.StepRecord (branch trainer; shape in
/// src/Engine.Models/Unlearning/Telemetry/StepRecordShape.md), so the telemetry tests show the one-line adapter
/// compiles. Delete this file once the trainer is merged and use the real record.
/// </summary>
public sealed record StepRecord(int Step, bool Warmup, bool Skipped, float LossAdv, float LossRet, float LossD, float DAccReal, float DAccFake,
    float FiredFraction, float MeanCosine, float[] Cosines, bool[] Fired, double AnchorSeconds, double TrainableSeconds, double BackwardSeconds,
    double DiscriminatorSeconds, double SurgerySeconds, double OptimizerSeconds);
