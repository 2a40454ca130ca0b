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

/// <summary>DDIM sampling settings of the ruler. Defaults measured on the built-in model (docs/world.md).</summary>
public sealed record RulerSampling(int Steps = 12, float GuidanceScale = 4.5f, int Batch = 64);

/// <summary>A text-to-image pipeline as a sampler: <see cref="TextToImage.SampleMany"/> with an empty negative prompt.</summary>
public sealed class PipelineSampler(TextToImage pipeline, RulerSampling settings) : IWorldSampler
{
    public float[] Sample(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, Action<int, int>? progress = null) =>
        pipeline.SampleMany(prompts, seeds, "", settings.Steps, settings.GuidanceScale, settings.Batch, progress);
}
