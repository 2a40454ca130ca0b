using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Models.Clip;
using Engine.Models.Unet;

namespace Engine.Models.Loading;

/// <summary>
/// Config records → config.json text with the diffusers (unet) and transformers (text_encoder) keys, the inverse of
/// <see cref="UNetConfig.FromJson(string)"/> and <see cref="ClipTextConfig.FromJson(string)"/>. Given the config.json the model
/// came from, its other keys (ids, versions, ...) are kept and only the keys we model are overwritten.
/// </summary>
public static class ConfigJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string UNet(UNetConfig c, string? basePath = null)
    {
        var o = Base(basePath);
        o["_class_name"] = "UNet2DConditionModel";
        o["act_fn"] = "silu";
        // SD 1.x's legacy attention_head_dim is the number of heads (sd-architecture.md §10.1); one int when uniform.
        o["attention_head_dim"] = c.NumAttentionHeads.All(h => h == c.NumAttentionHeads[0]) ? c.NumAttentionHeads[0] : Array(c.NumAttentionHeads);
        o["num_attention_heads"] = null;
        o["block_out_channels"] = Array(c.BlockOutChannels);
        o["cross_attention_dim"] = c.CrossAttentionDim;
        o["down_block_types"] = Array(c.DownBlockTypes);
        o["flip_sin_to_cos"] = c.FlipSinToCos;
        o["freq_shift"] = c.FreqShift;
        o["in_channels"] = c.InChannels;
        o["layers_per_block"] = c.LayersPerBlock;
        o["mid_block_type"] = c.MidBlockType;
        o["norm_eps"] = c.NormEps;
        o["norm_num_groups"] = c.NormNumGroups;
        o["out_channels"] = c.OutChannels;
        o["sample_size"] = c.SampleSize;
        o["transformer_layers_per_block"] = c.TransformerLayersPerBlock;
        o["up_block_types"] = Array(c.UpBlockTypes);
        o["use_linear_projection"] = false;
        o["only_cross_attention"] = false;
        o["upcast_attention"] = false;
        o["resnet_time_scale_shift"] = "default";
        o["class_embed_type"] = null;
        o["addition_embed_type"] = null;
        o["time_cond_proj_dim"] = null;
        return o.ToJsonString(Indented);
    }

    public static string TextEncoder(ClipTextConfig c, string? basePath = null)
    {
        var o = Base(basePath);
        o["architectures"] = Array(["CLIPTextModel"]);
        o["model_type"] = "clip_text_model";
        o["hidden_size"] = c.HiddenSize;
        o["intermediate_size"] = c.IntermediateSize;
        o["num_hidden_layers"] = c.NumHiddenLayers;
        o["num_attention_heads"] = c.NumAttentionHeads;
        o["vocab_size"] = c.VocabSize;
        o["max_position_embeddings"] = c.MaxPositionEmbeddings;
        o["hidden_act"] = c.HiddenAct;
        o["layer_norm_eps"] = c.LayerNormEps;
        o["torch_dtype"] = "float32";
        return o.ToJsonString(Indented);
    }

    /// <summary>Parses config.json text written by <see cref="UNet"/> (or diffusers) back into a record.</summary>
    public static UNetConfig ParseUNet(string json, string source)
    {
        using var doc = JsonDocument.Parse(json);
        return UNetConfig.FromJson(doc.RootElement, source);
    }

    /// <summary>Parses config.json text written by <see cref="TextEncoder"/> (or transformers) back into a record.</summary>
    public static ClipTextConfig ParseTextEncoder(string json, string source)
    {
        using var doc = JsonDocument.Parse(json);
        return ClipTextConfig.FromJson(doc.RootElement, source);
    }

    private static JsonObject Base(string? basePath) =>
        basePath is not null && File.Exists(basePath) && JsonNode.Parse(File.ReadAllText(basePath)) is JsonObject o ? o : [];

    // One overload per element type, not a generic JsonValue.Create<T> (which needs reflection and breaks trimming).
    private static JsonArray Array(IEnumerable<int> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v)!)];

    private static JsonArray Array(IEnumerable<string> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v)!)];
}
