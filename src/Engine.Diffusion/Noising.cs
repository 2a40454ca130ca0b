using Engine.Diffusion.Schedulers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Diffusion;

/// <summary>
/// The forward process and its inverse on the backend, per sample so that each sits at its own timestep:
/// x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε (DDPM add_noise) and x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t (pred_original_sample, unclipped).
/// The one implementation the trainer, the world's pretrainer and its denoising probe share; the coefficients are
/// computed in float as diffusers does, so the CPU results equal <see cref="NoiseSchedule.AddNoise"/>'s bit for bit.
/// </summary>
public static class Noising
{
    /// <summary>x_t for samples [0, timesteps.Length) of [N, ...] tensors.</summary>
    public static void AddNoise(IOps ops, NoiseSchedule schedule, Tensor xt, Tensor x0, Tensor noise, ReadOnlySpan<float> timesteps)
    {
        int per = PerSample(xt, x0, noise, timesteps.Length);
        for (int i = 0; i < timesteps.Length; i++)
        {
            var (sa, sb) = Coefficients(schedule, timesteps[i]);
            var y = xt.Slice((long)i * per, per);
            ops.Scale(y, x0.Slice((long)i * per, per), sa);
            ops.Axpy(y, sb, noise.Slice((long)i * per, per));
        }
    }

    /// <summary>x̂0 for samples [0, timesteps.Length) of [N, ...] tensors.</summary>
    public static void PredictX0(IOps ops, NoiseSchedule schedule, Tensor x0, Tensor xt, Tensor eps, ReadOnlySpan<float> timesteps)
    {
        int per = PerSample(x0, xt, eps, timesteps.Length);
        for (int i = 0; i < timesteps.Length; i++)
        {
            var (sa, sb) = Coefficients(schedule, timesteps[i]);
            var y = x0.Slice((long)i * per, per);
            ops.Scale(y, xt.Slice((long)i * per, per), 1f / sa);
            ops.Axpy(y, -sb / sa, eps.Slice((long)i * per, per));
        }
    }

    /// <summary>(√ᾱ_t, √(1−ᾱ_t)).</summary>
    public static (float SqrtAlphaBar, float SqrtOneMinusAlphaBar) Coefficients(NoiseSchedule schedule, float t)
    {
        float ab = schedule.AlphasCumprod[(int)t];
        return (MathF.Sqrt(ab), MathF.Sqrt(1f - ab));
    }

    private static int PerSample(Tensor a, Tensor b, Tensor c, int n)
    {
        if (n < 1) throw new ArgumentException("no timesteps");
        if (a.Numel % n != 0 || b.Numel < a.Numel || c.Numel < a.Numel)
            throw new ArgumentException($"tensors {a.Shape}, {b.Shape}, {c.Shape} do not hold {n} samples of the same size");
        return checked((int)(a.Numel / n));
    }
}
