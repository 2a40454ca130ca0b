namespace Engine.Diffusion.Schedulers;

/// <summary>
/// diffusers DDIMScheduler, host-side float32 math in diffusers' operation order (the latents of SD are a
/// few thousand numbers; the UNet dominates). Usage: <see cref="SetTimesteps"/>, then <see cref="Step"/>
/// for each of <see cref="Timesteps"/>.
/// </summary>
public sealed class DdimScheduler(NoiseSchedule schedule)
{
    public NoiseSchedule Schedule { get; } = schedule;

    public int[] Timesteps { get; private set; } = [];

    public int NumInferenceSteps { get; private set; }

    private float[] _scratch = [];

    /// <summary>ᾱ used after the last step: 1 with set_alpha_to_one, else ᾱ₀.</summary>
    public float FinalAlphaCumprod => Schedule.Config.SetAlphaToOne ? 1f : Schedule.AlphasCumprod[0];

    public DdimScheduler(SchedulerConfig config) : this(new NoiseSchedule(config)) { }

    public int[] SetTimesteps(int steps)
    {
        Timesteps = Schedule.InferenceTimesteps(steps);
        NumInferenceSteps = steps;
        return Timesteps;
    }

    /// <summary>The timestep the step from <paramref name="t"/> lands on: t − N div steps (the ratio, not the list).</summary>
    public int PreviousTimestep(int t) => t - Schedule.NumTrainTimesteps / NumInferenceSteps;

    /// <summary>σ_t² = (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev).</summary>
    public float Variance(int t)
    {
        float a = Schedule.AlphaCumprod(t, 1f), aPrev = Schedule.AlphaCumprod(PreviousTimestep(t), FinalAlphaCumprod);
        float b = 1f - a, bPrev = 1f - aPrev;
        return bPrev / b * (1f - a / aPrev);
    }

    /// <summary>
    /// x_{t_prev} = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·z, σ = η·σ_t; z (<paramref name="varianceNoise"/>)
    /// is read only when η &gt; 0. <paramref name="predOriginal"/> receives x̂₀ (may be empty).
    /// </summary>
    public void Step(Span<float> prevSample, Span<float> predOriginal, ReadOnlySpan<float> modelOutput, int timestep, ReadOnlySpan<float> sample,
        float eta = 0f, ReadOnlySpan<float> varianceNoise = default)
    {
        if (NumInferenceSteps == 0) throw new InvalidOperationException("call SetTimesteps before Step");
        int n = sample.Length;
        if (prevSample.Length != n) throw new ArgumentException($"prev_sample ({prevSample.Length}) and sample ({n}) must have the same length");
        if (eta > 0 && varianceNoise.Length != n) throw new ArgumentException($"eta {eta} needs variance_noise of {n} values, got {varianceNoise.Length}");
        float a = Schedule.AlphaCumprod(timestep, 1f);
        float aPrev = Schedule.AlphaCumprod(PreviousTimestep(timestep), FinalAlphaCumprod);
        // Scratch kept between steps: the sampler loop allocates nothing after its first step.
        if (_scratch.Length < 2 * n) _scratch = new float[2 * n];
        var x0 = predOriginal.IsEmpty ? _scratch.AsSpan(0, n) : predOriginal;
        var eps = _scratch.AsSpan(n, n);
        Schedule.PredictOriginalSample(x0, eps, modelOutput, sample, a);
        float std = eta * MathF.Sqrt(Variance(timestep));
        float dirCoeff = MathF.Sqrt(1f - aPrev - std * std), x0Coeff = MathF.Sqrt(aPrev);
        for (int i = 0; i < n; i++)
        {
            float prev = x0Coeff * x0[i] + dirCoeff * eps[i];
            if (eta > 0) prev += std * varianceNoise[i];
            prevSample[i] = prev;
        }
    }
}
