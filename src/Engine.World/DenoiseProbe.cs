using Engine.Diffusion;
using Engine.Diffusion.Pipelines;
using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models;
using Engine.Tensors;

namespace Engine.World;

/// <summary>The one-step denoising error at one timestep: ε-MSE (the training loss) and the MSE of the x̂0 it implies.</summary>
public readonly record struct DenoiseError(int Timestep, double EpsMse, double X0Mse);

/// <summary>
/// A quick health check of a world model that needs no classifier (<c>doco world denoise</c>): fresh renders captioned
/// "a {style} {colour} {shape}", noised to each of <see cref="Timesteps"/> with the same ε, denoised in one UNet call.
/// Runs on the pipeline's backend; the only host values are the renders and ids going in and two scalars per row
/// coming out.
/// </summary>
public static class DenoiseProbe
{
    public static readonly IReadOnlyList<int> Timesteps = [10, 50, 100, 250, 500, 750, 900, 990];

    /// <summary>One row per timestep of <see cref="Timesteps"/>, each as soon as it is measured.</summary>
    public static IEnumerable<DenoiseError> Measure(TextToImage pipe, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"{count} scenes");
        var ops = pipe.Ops;
        var schedule = new NoiseSchedule(pipe.SchedulerConfig);
        using var renderer = new WorldRenderer(pipe.Unet.Config.SampleSize);
        using var state = ops.CreateArena();
        using var acts = ops.CreateArena();
        using var grads = ops.CreateArena();
        int len = pipe.TextEncoder.Config.MaxPositionEmbeddings, numel = renderer.ImageNumel;
        // Fixed seeds: a probe of two models, or of one model twice, sees the same scenes and the same ε.
        var rng = new Random(12345);
        var hostX0 = new float[count * numel];
        var captions = new string[count];
        for (int i = 0; i < count; i++)
        {
            var scene = Scene.Sample(rng, renderer.Size);
            renderer.Render(scene, hostX0.AsSpan(i * numel, numel));
            captions[i] = Captions.Fill(Captions.TrainingTemplates[2], scene);
        }
        var hostIds = pipe.Tokenizer.EncodeBatch(captions, len);
        var image = new Shape(count, 3, renderer.Size, renderer.Size);
        var x0 = state.Upload(hostX0, image);
        var ids = state.Upload(hostIds, new Shape(count, len));
        var ehs = pipe.TextEncoder.Forward(ops, pipe.TextEncoder.Activations(state, count, len), ids);
        var noise = state.Alloc(image, zero: false);
        var xt = state.Alloc(image, zero: false);
        var x0Hat = state.Alloc(image, zero: false);
        var mse = state.Alloc(new Shape(1));
        var scalar = new float[1];
        ops.RandomNormal(noise, 7, 0);
        var w = new Workspace(ops, acts, grads);
        var timesteps = new float[count];
        foreach (int t in Timesteps)
        {
            Array.Fill(timesteps, t);
            Noising.AddNoise(ops, schedule, xt, x0, noise, timesteps);
            w.Reset();
            var eps = pipe.Unet.Forward(w, xt, timesteps, ehs);
            ops.MseForward(mse, eps, noise);
            ops.CopyToHost(scalar, mse);
            double epsMse = scalar[0];
            // x̂0 = (x_t − √(1−ᾱ)·ε̂)/√ᾱ, unclipped: the error it carries at high t is what this row shows.
            Noising.PredictX0(ops, schedule, x0Hat, xt, eps, timesteps);
            ops.MseForward(mse, x0Hat, x0);
            ops.CopyToHost(scalar, mse);
            yield return new DenoiseError(t, epsMse, scalar[0]);
        }
    }
}
