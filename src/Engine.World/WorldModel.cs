using System.Text.Json;
using Engine.Models.Clip;
using Engine.Models.Unet;
using Engine.Nn;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.World;

/// <summary>
/// The built-in text-to-image model: SD 1.x's UNet2DConditionModel and CLIPTextModel, smaller, in pixel space
/// (32×32 RGB, no VAE). Sized so that pretraining on 2 CPU cores takes about an hour (docs/world.md).
/// </summary>
public static class WorldModel
{
    public const int ImageSize = 32;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Caption length in tokens, BOS and EOS included.</summary>
    public const int MaxTokens = 16;

    public static UNetConfig UNet => new()
    {
        InChannels = 3,
        OutChannels = 3,
        SampleSize = ImageSize,
        BlockOutChannels = [32, 64, 64],
        LayersPerBlock = 1,
        DownBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        UpBlockTypes = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        NumAttentionHeads = [4, 4, 4],
        CrossAttentionDim = 64,
        NormNumGroups = 8,
    };

    public static ClipTextConfig TextEncoder(int vocabSize) => new(64, 256, 3, 4, vocabSize, MaxTokens);

    /// <summary>
    /// DDPM's linear β schedule: right for pixels in [-1, 1] (SD's scaled_linear schedule is tuned for latents).
    /// Sampling clips x0 to [-1, 1], as pixel-space DDPM does.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static string SchedulerConfigJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["_class_name"] = "DDIMScheduler",
        ["num_train_timesteps"] = 1000,
        ["beta_start"] = 0.0001,
        ["beta_end"] = 0.02,
        ["beta_schedule"] = "linear",
        ["prediction_type"] = "epsilon",
        ["clip_sample"] = true,
        ["clip_sample_range"] = 1.0,
        ["set_alpha_to_one"] = true,
        ["steps_offset"] = 1,
        ["timestep_spacing"] = "leading",
    }, Indented);

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static string ModelIndexJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["_class_name"] = "StableDiffusionPipeline",
        ["_diffusers_version"] = "0.27.0",
        ["scheduler"] = new[] { "diffusers", "DDIMScheduler" },
        ["text_encoder"] = new[] { "transformers", "CLIPTextModel" },
        ["tokenizer"] = new[] { "transformers", "CLIPTokenizer" },
        ["unet"] = new[] { "diffusers", "UNet2DConditionModel" },
    }, Indented);

    /// <summary>
    /// PyTorch's default initialization, which training from scratch needs (RandomInit's N(0, 0.02²) is for shape
    /// tests): kernels and matrices U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), biases zero, norms one,
    /// token embeddings N(0, 0.02²) and position embeddings N(0, 0.01²) as CLIP. Deterministic in the seed.
    /// </summary>
    public static void Initialize(IOps ops, ParameterStore store, ulong seed)
    {
        // U(−b, b) as (2u − 1)·b in three exact-order ops (the −1 as an Axpy against ones), so that the backend's
        // memory is never read on the host and the CPU values stay those the shipped weights were trained from.
        long largest = 0;
        foreach (var p in store.Layout.Parameters) largest = Math.Max(largest, p.Numel);
        using var scratch = ops.CreateArena(Math.Max(1, largest) * sizeof(float));
        var ones = scratch.Alloc(new Shape(checked((int)Math.Max(1, largest))), zero: false);
        ops.Fill(ones, 1f);
        ulong offset = 0;
        foreach (var p in store.Layout.Parameters)
        {
            var w = store.Weight(p.Name);
            bool isNorm = p.Name.Contains("norm", StringComparison.Ordinal);
            if (p.Name.EndsWith(".bias", StringComparison.Ordinal)) ops.Fill(w, 0f);
            else if (isNorm && p.Shape.Rank == 1) ops.Fill(w, 1f);
            else if (p.Name.Contains("embedding", StringComparison.Ordinal) && p.Name.Contains("text_model", StringComparison.Ordinal))
            {
                ops.RandomNormal(w, seed, offset);
                ops.Scale(w, w, p.Name.Contains("position", StringComparison.Ordinal) ? 0.01f : 0.02f);
            }
            else
            {
                long fanIn = p.Numel / p.Shape[0];
                float bound = 1f / MathF.Sqrt(fanIn);
                ops.RandomUniform(w, seed, offset);
                var flat = w.View(checked((int)p.Numel));
                ops.Scale(flat, flat, 2f);
                ops.Axpy(flat, -1f, ones.Slice(0, checked((int)p.Numel)));
                ops.Scale(flat, flat, bound);
            }
            offset += (ulong)p.Numel;
        }
    }
}
