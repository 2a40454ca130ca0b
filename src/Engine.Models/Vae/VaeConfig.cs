using System.Text.Json;

namespace Engine.Models.Vae;

/// <summary>
/// diffusers AutoencoderKL config (vae/config.json), the part the decoder uses. Values outside what the
/// SD 1.x VAE family does (other block types, activations) are rejected with the key's name.
/// </summary>
public sealed record VaeConfig
{
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public int LatentChannels { get; init; } = 4;
    public int[] BlockOutChannels { get; init; } = [64];
    public int LayersPerBlock { get; init; } = 1;
    public int NormNumGroups { get; init; } = 32;
    public float ScalingFactor { get; init; } = 0.18215f;
    public bool UsePostQuantConv { get; init; } = true;
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Every GroupNorm of the VAE (resnets, attention, conv_norm_out) uses eps 1e-6.</summary>
    public const float NormEps = 1e-6f;

    /// <summary>Spatial growth of the decoder: one ×2 upsampler per up block but the last.</summary>
    public int UpscaleFactor => 1 << (BlockOutChannels.Length - 1);

    public static VaeConfig FromJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return FromJson(doc.RootElement, path);
    }

    public static VaeConfig FromJson(JsonElement r, string source)
    {
        var d = new VaeConfig();
        var c = new VaeConfig
        {
            InChannels = Int(r, "in_channels", d.InChannels),
            OutChannels = Int(r, "out_channels", d.OutChannels),
            LatentChannels = Int(r, "latent_channels", d.LatentChannels),
            BlockOutChannels = r.TryGetProperty("block_out_channels", out var b) ? [.. b.EnumerateArray().Select(e => e.GetInt32())] : d.BlockOutChannels,
            LayersPerBlock = Int(r, "layers_per_block", d.LayersPerBlock),
            NormNumGroups = Int(r, "norm_num_groups", d.NormNumGroups),
            ScalingFactor = r.TryGetProperty("scaling_factor", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetSingle() : d.ScalingFactor,
            UsePostQuantConv = Bool(r, "use_post_quant_conv", true),
            MidBlockAddAttention = Bool(r, "mid_block_add_attention", true),
        };
        if (r.TryGetProperty("act_fn", out var act) && act.GetString() != "silu")
            throw new InvalidDataException($"{source}: act_fn '{act.GetString()}' is not supported (silu)");
        if (r.TryGetProperty("up_block_types", out var up))
        {
            var types = up.EnumerateArray().Select(e => e.GetString()).ToArray();
            if (types.Length != c.BlockOutChannels.Length)
                throw new InvalidDataException($"{source}: up_block_types has {types.Length} entries, block_out_channels {c.BlockOutChannels.Length}");
            foreach (var t in types)
                if (t != "UpDecoderBlock2D") throw new InvalidDataException($"{source}: up_block_types '{t}' is not supported (UpDecoderBlock2D)");
        }
        if (c.BlockOutChannels.Length == 0) throw new InvalidDataException($"{source}: block_out_channels is empty");
        foreach (var ch in c.BlockOutChannels)
            if (ch % c.NormNumGroups != 0)
                throw new InvalidDataException($"{source}: block_out_channels {ch} is not divisible by norm_num_groups {c.NormNumGroups}");
        return c;
    }

    private static int Int(JsonElement r, string key, int fallback) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;

    private static bool Bool(JsonElement r, string key, bool fallback) =>
        r.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
