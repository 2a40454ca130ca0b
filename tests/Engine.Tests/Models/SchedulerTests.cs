using Engine.Diffusion.Schedulers;

namespace Engine.Tests.Models;

/// <summary>
/// Scheduler math against the hand-checked scalars of docs/sd-architecture.md §5 (SD 1.5 settings);
/// the fixture parity (diffusers' own outputs) is in ParityTests.
/// </summary>
public class SchedulerTests
{
    private static readonly SchedulerConfig Sd15 = new()
    {
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        BetaSchedule = "scaled_linear",
        SetAlphaToOne = false,
        StepsOffset = 1,
    };

    [Fact]
    public void ScaledLinear_MatchesTheReferenceTable()
    {
        var s = new NoiseSchedule(Sd15);
        Assert.Equal(0.00085, s.Betas[0], 1e-9);
        Assert.Equal(0.012, s.Betas[999], 1e-9);
        Assert.Equal(0.0048149541, s.Betas[500], 1e-8);
        Assert.Equal(0.99915, s.AlphasCumprod[0], 1e-7);
        Assert.Equal(0.27633268, s.AlphasCumprod[500], 1e-6);
        Assert.Equal(0.0046600985, s.AlphasCumprod[999], 1e-8);
    }

    [Fact]
    public void Linear_IsEvenlySpacedInBeta()
    {
        var s = new NoiseSchedule(new SchedulerConfig { BetaStart = 0.0001, BetaEnd = 0.02, NumTrainTimesteps = 11 });
        for (int i = 0; i < 11; i++) Assert.Equal(0.0001 + (0.02 - 0.0001) * i / 10, s.Betas[i], 1e-8);
    }

    [Fact]
    public void Timesteps_LeadingTrailingLinspace()
    {
        Assert.Equal([981, 961, 941], new NoiseSchedule(Sd15).InferenceTimesteps(50)[..3]);
        Assert.Equal(1, new NoiseSchedule(Sd15).InferenceTimesteps(50)[^1]);
        Assert.Equal([999, 749, 499, 249], new NoiseSchedule(Sd15 with { TimestepSpacing = "trailing" }).InferenceTimesteps(4));
        Assert.Equal([999, 666, 333, 0], new NoiseSchedule(Sd15 with { TimestepSpacing = "linspace" }).InferenceTimesteps(4));
    }

    [Fact]
    public void Ddim_ScalarChecks()
    {
        var ddim = new DdimScheduler(Sd15);
        ddim.SetTimesteps(50);
        float[] x = [1f], eps = [1f], prev = new float[1], x0 = new float[1];
        ddim.Step(prev, x0, eps, 981, x);
        Assert.Equal(0.0380534, x0[0], 1e-5);
        Assert.Equal(0.9995997, prev[0], 1e-5);
        Assert.Equal(0.454463, MathF.Sqrt(ddim.Variance(981)), 1e-5);
        ddim.Step(prev, x0, eps, 1, x);
        Assert.Equal(0.959539, x0[0], 1e-5);
        Assert.Equal(0.988286, prev[0], 1e-5);
    }

    [Fact]
    public void Ddim_EtaNoiseAddsSigmaTimesNoise()
    {
        var ddim = new DdimScheduler(Sd15);
        ddim.SetTimesteps(50);
        float[] x = [1f, 1f], eps = [1f, 1f], noise = [0f, 2f], prev = new float[2];
        ddim.Step(prev, default, eps, 981, x, eta: 1f, varianceNoise: noise);
        float sigma = MathF.Sqrt(ddim.Variance(981));
        Assert.Equal(2 * sigma, prev[1] - prev[0], 1e-6);
        Assert.Throws<ArgumentException>(() => ddim.Step(prev, default, eps, 981, x, eta: 1f));
    }

    [Fact]
    public void Ddpm_LastStepIsTheMeanAndVarianceIsFixedSmall()
    {
        var ddpm = new DdpmScheduler(Sd15);
        ddpm.SetTimesteps(50);
        Assert.Equal(961, ddpm.PreviousTimestep(981));
        Assert.Equal(-1, ddpm.PreviousTimestep(1));
        var a = ddpm.Schedule.AlphasCumprod;
        double expected = (1 - a[961]) / (1 - a[981]) * (1 - a[981] / a[961]);
        Assert.Equal(expected, ddpm.Variance(981), 1e-7);
        float[] x = [0.5f], eps = [0.25f], prev = new float[1], x0 = new float[1];
        ddpm.Step(prev, x0, eps, 1, x, [100f]); // t_prev = -1: ᾱ_prev = 1, so x_prev = x̂₀ whatever the noise
        Assert.Equal(x0[0], prev[0], 1e-6);
        Assert.Throws<ArgumentException>(() => ddpm.PreviousTimestep(500));
    }

    [Fact]
    public void AddNoise_OneTimestepPerSample()
    {
        var s = new NoiseSchedule(Sd15);
        float[] x0 = [1f, 1f, 2f, 2f], noise = [0f, 1f, 0f, 1f], noisy = new float[4];
        s.AddNoise(noisy, x0, noise, [0, 999]);
        Assert.Equal(MathF.Sqrt(s.AlphasCumprod[0]), noisy[0], 1e-7);
        Assert.Equal(2 * MathF.Sqrt(s.AlphasCumprod[999]) + MathF.Sqrt(1 - s.AlphasCumprod[999]), noisy[3], 1e-6);
        Assert.Throws<ArgumentException>(() => s.AddNoise(noisy, x0, noise, [0, 1, 2]));
    }
}
