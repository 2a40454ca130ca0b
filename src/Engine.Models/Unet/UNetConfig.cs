using System.Text.Json;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers UNet2DConditionModel config, restricted to what SD 1.x-style models use. Every value the
/// configuration allows within that family is honoured; anything else is rejected with the key's name.
/// </summary>
public sealed record UNetConfig
{
    public int InChannels { get; init; } = 4;
    public int OutChannels { get; init; } = 4;
    public int SampleSize { get; init; } = 64;
    public int[] BlockOutChannels { get; init; } = [320, 640, 1280, 1280];
    public int LayersPerBlock { get; init; } = 2;
    public string[] DownBlockTypes { get; init; } = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
    public string[] UpBlockTypes { get; init; } = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
    public string? MidBlockType { get; init; } = "UNetMidBlock2DCrossAttn";

    /// <summary>Heads per level (diffusers' legacy attention_head_dim, or num_attention_heads when set).</summary>
    public int[] NumAttentionHeads { get; init; } = [8, 8, 8, 8];
    public int CrossAttentionDim { get; init; } = 768;
    public int NormNumGroups { get; init; } = 32;
    public float NormEps { get; init; } = 1e-5f;
    public bool FlipSinToCos { get; init; } = true;
    public float FreqShift { get; init; }
    public int TransformerLayersPerBlock { get; init; } = 1;

    public int TimeEmbedDim => BlockOutChannels[0] * 4;

    public static UNetConfig FromJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return FromJson(doc.RootElement, path);
    }

    public static UNetConfig FromJson(JsonElement r, string source)
    {
        var d = new UNetConfig();
        int[] blocks = IntArray(r, "block_out_channels") ?? d.BlockOutChannels;
        int[] heads = IntOrArray(r, "num_attention_heads", blocks.Length) ?? IntOrArray(r, "attention_head_dim", blocks.Length) ?? d.NumAttentionHeads;
        var c = new UNetConfig
        {
            InChannels = Int(r, "in_channels", d.InChannels),
            OutChannels = Int(r, "out_channels", d.OutChannels),
            SampleSize = Int(r, "sample_size", d.SampleSize),
            BlockOutChannels = blocks,
            LayersPerBlock = Int(r, "layers_per_block", d.LayersPerBlock),
            DownBlockTypes = StringArray(r, "down_block_types") ?? d.DownBlockTypes,
            UpBlockTypes = StringArray(r, "up_block_types") ?? d.UpBlockTypes,
            MidBlockType = r.TryGetProperty("mid_block_type", out var mid) ? mid.ValueKind == JsonValueKind.Null ? null : mid.GetString() : d.MidBlockType,
            NumAttentionHeads = heads,
            CrossAttentionDim = Int(r, "cross_attention_dim", d.CrossAttentionDim),
            NormNumGroups = Int(r, "norm_num_groups", d.NormNumGroups),
            NormEps = r.TryGetProperty("norm_eps", out var eps) ? eps.GetSingle() : d.NormEps,
            FlipSinToCos = !r.TryGetProperty("flip_sin_to_cos", out var flip) || flip.GetBoolean(),
            FreqShift = r.TryGetProperty("freq_shift", out var fs) ? fs.GetSingle() : 0f,
            TransformerLayersPerBlock = Int(r, "transformer_layers_per_block", 1),
        };
        Require(r, source, "use_linear_projection", false);
        Require(r, source, "only_cross_attention", false);
        Require(r, source, "upcast_attention", false);
        RequireNull(r, source, "class_embed_type");
        RequireNull(r, source, "addition_embed_type");
        RequireNull(r, source, "time_cond_proj_dim");
        if (r.TryGetProperty("act_fn", out var act) && act.GetString() != "silu")
            throw new InvalidDataException($"{source}: act_fn '{act.GetString()}' is not supported (silu)");
        if (r.TryGetProperty("resnet_time_scale_shift", out var rts) && rts.GetString() != "default")
            throw new InvalidDataException($"{source}: resnet_time_scale_shift '{rts.GetString()}' is not supported (default)");
        c.Validate(source);
        return c;
    }

    public void Validate(string source)
    {
        int levels = BlockOutChannels.Length;
        if (levels == 0) throw new InvalidDataException($"{source}: block_out_channels is empty");
        if (DownBlockTypes.Length != levels || UpBlockTypes.Length != levels)
            throw new InvalidDataException($"{source}: down_block_types ({DownBlockTypes.Length}) and up_block_types ({UpBlockTypes.Length}) must have one entry per block_out_channels ({levels})");
        foreach (var t in DownBlockTypes)
            if (t is not ("DownBlock2D" or "CrossAttnDownBlock2D")) throw new InvalidDataException($"{source}: down block type '{t}' is not supported");
        foreach (var t in UpBlockTypes)
            if (t is not ("UpBlock2D" or "CrossAttnUpBlock2D")) throw new InvalidDataException($"{source}: up block type '{t}' is not supported");
        if (MidBlockType is not (null or "UNetMidBlock2DCrossAttn"))
            throw new InvalidDataException($"{source}: mid_block_type '{MidBlockType}' is not supported");
        if (NumAttentionHeads.Length != levels) throw new InvalidDataException($"{source}: attention heads need one entry per level");
        for (int i = 0; i < levels; i++)
        {
            if (BlockOutChannels[i] % NormNumGroups != 0)
                throw new InvalidDataException($"{source}: block_out_channels[{i}] = {BlockOutChannels[i]} is not divisible by norm_num_groups {NormNumGroups}");
            if (BlockOutChannels[i] % NumAttentionHeads[i] != 0)
                throw new InvalidDataException($"{source}: block_out_channels[{i}] = {BlockOutChannels[i]} is not divisible by {NumAttentionHeads[i]} heads");
        }
        if (LayersPerBlock < 1 || TransformerLayersPerBlock < 1) throw new InvalidDataException($"{source}: layers_per_block and transformer_layers_per_block must be ≥ 1");
    }

    private static void Require(JsonElement r, string source, string key, bool expected)
    {
        if (r.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False && v.GetBoolean() != expected)
            throw new InvalidDataException($"{source}: {key} = {v.GetBoolean()} is not supported");
    }

    private static void RequireNull(JsonElement r, string source, string key)
    {
        if (r.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null)
            throw new InvalidDataException($"{source}: {key} = {v} is not supported (SD 1.x has none)");
    }

    private static int Int(JsonElement r, string key, int fallback) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;

    private static int[]? IntArray(JsonElement r, string key) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray().Select(e => e.GetInt32())] : null;

    private static int[]? IntOrArray(JsonElement r, string key, int levels)
    {
        if (!r.TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number => Enumerable.Repeat(v.GetInt32(), levels).ToArray(),
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => e.GetInt32())],
            _ => null,
        };
    }

    private static string[]? StringArray(JsonElement r, string key) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray().Select(e => e.GetString() ?? "")] : null;
}
