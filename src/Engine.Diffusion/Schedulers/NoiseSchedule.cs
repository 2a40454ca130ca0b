namespace Engine.Diffusion.Schedulers;

/// <summary>
/// β_t, α_t = 1 − β_t and ᾱ_t = ∏ α_i, in float32 exactly as diffusers builds them on the CPU:
/// torch.linspace in float32 (<see cref="Linspace"/>), squared for scaled_linear; torch.cumprod, which on the
/// CPU accumulates in double and rounds each entry to float32.
/// Also the step-independent math every sampler shares: x̂₀ and ε̂ from the model output.
/// </summary>
public sealed class NoiseSchedule
{
    public SchedulerConfig Config { get; }

    public float[] Betas { get; }

    public float[] Alphas { get; }

    public float[] AlphasCumprod { get; }

    public int NumTrainTimesteps => Config.NumTrainTimesteps;

    public NoiseSchedule(SchedulerConfig config)
    {
        Config = config;
        int n = config.NumTrainTimesteps;
        Betas = config.BetaSchedule switch
        {
            "linear" => Linspace(config.BetaStart, config.BetaEnd, n),
            "scaled_linear" => Array.ConvertAll(Linspace(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), n), s => s * s),
            _ => throw new ArgumentException($"beta_schedule '{config.BetaSchedule}' is not supported"),
        };
        Alphas = Array.ConvertAll(Betas, b => 1f - b);
        AlphasCumprod = new float[n];
        double product = 1.0;
        for (int i = 0; i < n; i++)
        {
            product *= Alphas[i];
            AlphasCumprod[i] = (float)product;
        }
    }

    /// <summary>
    /// torch.linspace(start, end, n, dtype=float32) bit for bit as PyTorch 1.13's CPU kernel computes it (the
    /// version the fixture was made with): the Python (double) end points are rounded to float32, the step is
    /// a double, (end − start)/(n − 1); each element is start + step·i for the first half and
    /// end − step·(n − 1 − i) for the second, in double. The kernel's vector loop (8 floats, two vectors per
    /// iteration) computes only the first element of each vector that way, rounds it to float32, and adds
    /// k·step to it for the other seven; the tail after the last whole pair of vectors is scalar. This
    /// reproduces diffusers' ᾱ exactly (checked on the tiny-sd fixture); the plain formula differs in the
    /// last bit for about a fifth of the entries.
    /// </summary>
    public static float[] Linspace(double start, double end, int n)
    {
        var y = new float[n];
        float s = (float)start, e = (float)end;
        if (n == 1)
        {
            y[0] = s;
            return y;
        }
        double step = ((double)e - s) / (n - 1);
        int halfway = n / 2;
        double Element(int i) => i < halfway ? s + step * i : e - step * (n - i - 1);
        const int Width = 8;
        int vectorEnd = n / (2 * Width) * (2 * Width);
        for (int i = 0; i < vectorEnd; i += Width)
        {
            float first = (float)Element(i);
            for (int k = 0; k < Width; k++) y[i + k] = (float)(first + k * step);
        }
        for (int i = vectorEnd; i < n; i++) y[i] = (float)Element(i);
        return y;
    }

    /// <summary>ᾱ at <paramref name="t"/>, or <paramref name="whenNegative"/> for t &lt; 0 (before the first step).</summary>
    public float AlphaCumprod(int t, float whenNegative)
    {
        if (t >= NumTrainTimesteps) throw new ArgumentOutOfRangeException(nameof(t), $"timestep {t} is outside 0..{NumTrainTimesteps - 1}");
        return t >= 0 ? AlphasCumprod[t] : whenNegative;
    }

    /// <summary>
    /// x̂₀ and ε̂ from the model output at ᾱ_t, per prediction_type (epsilon: x̂₀ = (x_t − √(1−ᾱ)·ε̂)/√ᾱ),
    /// then x̂₀ clamped to ±clip_sample_range when clip_sample is set. Float32 in diffusers' operation order.
    /// <paramref name="predEpsilon"/> may be empty when the caller does not need it.
    /// </summary>
    public void PredictOriginalSample(Span<float> predOriginal, Span<float> predEpsilon, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float alphaProdT)
    {
        int n = sample.Length;
        if (modelOutput.Length != n || predOriginal.Length != n || (!predEpsilon.IsEmpty && predEpsilon.Length != n))
            throw new ArgumentException($"sample ({n}), model_output ({modelOutput.Length}), pred_original_sample ({predOriginal.Length}) and pred_epsilon ({predEpsilon.Length}) must have the same length");
        float betaProdT = 1f - alphaProdT;
        float sa = MathF.Sqrt(alphaProdT), sb = MathF.Sqrt(betaProdT);
        switch (Config.PredictionType)
        {
            case "epsilon":
                for (int i = 0; i < n; i++) predOriginal[i] = (sample[i] - sb * modelOutput[i]) / sa;
                if (!predEpsilon.IsEmpty) modelOutput.CopyTo(predEpsilon);
                break;
            case "sample":
                modelOutput.CopyTo(predOriginal);
                if (!predEpsilon.IsEmpty)
                    for (int i = 0; i < n; i++) predEpsilon[i] = (sample[i] - sa * predOriginal[i]) / sb;
                break;
            case "v_prediction":
                for (int i = 0; i < n; i++)
                {
                    float x0 = sa * sample[i] - sb * modelOutput[i];
                    if (!predEpsilon.IsEmpty) predEpsilon[i] = sa * modelOutput[i] + sb * sample[i];
                    predOriginal[i] = x0;
                }
                break;
            default:
                throw new InvalidOperationException($"prediction_type '{Config.PredictionType}' is not supported");
        }
        if (Config.ClipSample)
        {
            float r = Config.ClipSampleRange;
            for (int i = 0; i < n; i++) predOriginal[i] = Math.Clamp(predOriginal[i], -r, r);
        }
    }

    /// <summary>
    /// diffusers add_noise: x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, one timestep per sample of the batch
    /// (the spans hold timesteps.Length samples of equal size).
    /// </summary>
    public void AddNoise(Span<float> noisy, ReadOnlySpan<float> original, ReadOnlySpan<float> noise, ReadOnlySpan<int> timesteps)
    {
        int n = original.Length;
        if (noise.Length != n || noisy.Length != n) throw new ArgumentException($"original ({n}), noise ({noise.Length}) and noisy ({noisy.Length}) must have the same length");
        if (timesteps.Length == 0 || n % timesteps.Length != 0) throw new ArgumentException($"{n} values are not {timesteps.Length} equal samples");
        int per = n / timesteps.Length;
        for (int b = 0; b < timesteps.Length; b++)
        {
            int t = timesteps[b];
            if (t < 0 || t >= NumTrainTimesteps) throw new ArgumentOutOfRangeException(nameof(timesteps), $"timestep {t} is outside 0..{NumTrainTimesteps - 1}");
            float a = AlphasCumprod[t];
            float sa = MathF.Sqrt(a), sb = MathF.Sqrt(1f - a);
            for (int i = b * per; i < (b + 1) * per; i++) noisy[i] = sa * original[i] + sb * noise[i];
        }
    }

    /// <summary>
    /// The inference timesteps for <paramref name="steps"/> steps, descending, per timestep_spacing
    /// (diffusers DDIM/DDPM set_timesteps): leading k·(N div steps) + steps_offset; trailing
    /// round(N − k·N/steps) − 1; linspace round(linspace(0, N − 1, steps)).
    /// </summary>
    public int[] InferenceTimesteps(int steps)
    {
        int n = NumTrainTimesteps;
        if (steps < 1 || steps > n) throw new ArgumentOutOfRangeException(nameof(steps), $"{steps} inference steps for {n} training steps");
        var t = new int[steps];
        switch (Config.TimestepSpacing)
        {
            case "leading":
                int ratio = n / steps;
                for (int k = 0; k < steps; k++) t[k] = (steps - 1 - k) * ratio + Config.StepsOffset;
                break;
            case "trailing":
                double r = (double)n / steps;
                // np.arange(N, 0, -r): N, N - r, ... (> 0), each rounded half-to-even, minus 1.
                for (int k = 0; k < steps; k++) t[k] = (int)Math.Round(n - k * r, MidpointRounding.ToEven) - 1;
                break;
            case "linspace":
                for (int k = 0; k < steps; k++)
                {
                    double v = steps == 1 ? 0 : (n - 1) * (double)(steps - 1 - k) / (steps - 1);
                    t[k] = (int)Math.Round(v, MidpointRounding.ToEven);
                }
                break;
            default:
                throw new InvalidOperationException($"timestep_spacing '{Config.TimestepSpacing}' is not supported");
        }
        return t;
    }
}
