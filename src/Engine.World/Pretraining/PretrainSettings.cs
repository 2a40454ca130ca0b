namespace Engine.World.Pretraining;

/// <summary>
/// Settings of <c>doco world pretrain</c>. The learning rate warms up linearly, then follows a cosine to 10 % at
/// <see cref="Steps"/>; the shipped weights are an exponential moving average of the trained ones.
/// </summary>
public sealed record PretrainSettings
{
    public int Steps { get; init; } = 3000;
    public int Batch { get; init; } = 32;
    public float LearningRate { get; init; } = 5e-4f;
    public int WarmupSteps { get; init; } = 100;
    public float WeightDecay { get; init; } = 1e-2f;
    public float MaxGradNorm { get; init; } = 1f;
    public float EmaDecay { get; init; } = 0.998f;
    public int CheckpointEvery { get; init; } = 100;
    public ulong Seed { get; init; } = 1;

    /// <summary>Share of non-empty captions that name the style; null keeps the default mix (<see cref="Captions.ForPretraining"/>).</summary>
    public double? StyleCaptionShare { get; init; }

    public float LearningRateAt(int step)
    {
        if (step <= WarmupSteps) return LearningRate * step / Math.Max(1, WarmupSteps);
        double progress = Math.Min(1.0, (step - WarmupSteps) / (double)Math.Max(1, Steps - WarmupSteps));
        return (float)(LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }
}
