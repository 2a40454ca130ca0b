using Engine.Diffusion.Pipelines;

namespace Engine.World.Ruler;

/// <summary>
/// Something that turns (prompt, seed) pairs into images [n, 3, 32, 32] in [-1, 1]: a model, or in tests a fake
/// that renders known scenes. Image i must depend only on prompt i and seed i.
/// </summary>
public interface IWorldSampler
{
    float[] Sample(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, Action<int, int>? progress = null);
}

/// <summary>
/// DDIM sampling settings of the ruler. Steps and guidance: measured on the built-in model (docs/world.md). Batch, the
/// images per UNet call, changes no result (<see cref="TextToImage.SampleMany"/>); 16 (a UNet batch of 32) measured
/// 9 % faster than 64 on the built-in model with a third of the peak memory (0.72 against 2.25 GB for `doco eval`),
/// as the activations of a batch of 128 no longer had to be paged in (docs/benchmarks.md).
/// </summary>
public sealed record RulerSampling(int Steps = 12, float GuidanceScale = 4.5f, int Batch = 16);

/// <summary>A text-to-image pipeline as a sampler: <see cref="TextToImage.SampleMany"/> with an empty negative prompt.</summary>
public sealed class PipelineSampler(TextToImage pipeline, RulerSampling settings) : IWorldSampler
{
    public float[] Sample(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, Action<int, int>? progress = null) =>
        pipeline.SampleMany(prompts, seeds, "", settings.Steps, settings.GuidanceScale, settings.Batch, progress);
}
