namespace Engine.Diffusion.Schedulers;

/// <summary>
/// diffusers DDPMScheduler with variance_type fixed_small, host-side float32 math in diffusers' operation
/// order. The ancestral noise is given by the caller (our RNG is not torch's), which is also how the
/// fixture checks it.
/// </summary>
public sealed class DdpmScheduler(NoiseSchedule schedule)
{
    public NoiseSchedule Schedule { get; } = schedule;

    /// <summary>Empty until <see cref="SetTimesteps"/>: then the previous timestep is t − 1.</summary>
    public int[] Timesteps { get; private set; } = [];

    private float[] _scratch = [];

    public DdpmScheduler(SchedulerConfig config) : this(new NoiseSchedule(config)) { }

    public int[] SetTimesteps(int steps)
    {
        Timesteps = Schedule.InferenceTimesteps(steps);
        return Timesteps;
    }

    /// <summary>The next entry of the timestep list (−1 after the last); t − 1 when no list was set.</summary>
    public int PreviousTimestep(int t)
    {
        if (Timesteps.Length == 0) return t - 1;
        int index = Array.IndexOf(Timesteps, t);
        if (index < 0) throw new ArgumentException($"timestep {t} is not one of the {Timesteps.Length} inference timesteps");
        return index < Timesteps.Length - 1 ? Timesteps[index + 1] : -1;
    }

    /// <summary>fixed_small: (1 − ᾱ_prev)/(1 − ᾱ_t) · β'_t with β'_t = 1 − ᾱ_t/ᾱ_prev, clamped to ≥ 1e-20.</summary>
    public float Variance(int t)
    {
        float a = Schedule.AlphaCumprod(t, 1f), aPrev = Schedule.AlphaCumprod(PreviousTimestep(t), 1f);
        float currentBeta = 1f - a / aPrev;
        return Math.Max((1f - aPrev) / (1f - a) * currentBeta, 1e-20f);
    }

    /// <summary>
    /// x_{t_prev} = μ + √variance·z for t &gt; 0 (μ alone at t = 0), μ = (√ᾱ_prev·β'_t/(1 − ᾱ_t))·x̂₀ +
    /// (√α'_t·(1 − ᾱ_prev)/(1 − ᾱ_t))·x_t. <paramref name="predOriginal"/> receives x̂₀ (may be empty).
    /// </summary>
    public void Step(Span<float> prevSample, Span<float> predOriginal, ReadOnlySpan<float> modelOutput, int timestep, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> varianceNoise)
    {
        int n = sample.Length;
        if (prevSample.Length != n) throw new ArgumentException($"prev_sample ({prevSample.Length}) and sample ({n}) must have the same length");
        if (timestep > 0 && varianceNoise.Length != n) throw new ArgumentException($"variance_noise has {varianceNoise.Length} values, sample {n}");
        int tPrev = PreviousTimestep(timestep);
        float a = Schedule.AlphaCumprod(timestep, 1f), aPrev = Schedule.AlphaCumprod(tPrev, 1f);
        float b = 1f - a, bPrev = 1f - aPrev;
        float currentAlpha = a / aPrev, currentBeta = 1f - currentAlpha;
        if (predOriginal.IsEmpty && _scratch.Length < n) _scratch = new float[n];
        var x0 = predOriginal.IsEmpty ? _scratch.AsSpan(0, n) : predOriginal;
        Schedule.PredictOriginalSample(x0, default, modelOutput, sample, a);
        float x0Coeff = MathF.Sqrt(aPrev) * currentBeta / b;
        float sampleCoeff = MathF.Sqrt(currentAlpha) * bPrev / b;
        float sigma = timestep > 0 ? MathF.Sqrt(Variance(timestep)) : 0f;
        for (int i = 0; i < n; i++)
        {
            float prev = x0Coeff * x0[i] + sampleCoeff * sample[i];
            if (timestep > 0) prev += sigma * varianceNoise[i];
            prevSample[i] = prev;
        }
    }
}
