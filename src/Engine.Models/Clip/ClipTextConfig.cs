using System.Text.Json;

namespace Engine.Models.Clip;

/// <summary>transformers' CLIPTextConfig: the values CLIPTextModel's shape depends on.</summary>
public sealed record ClipTextConfig(
    int HiddenSize = 768,
    int IntermediateSize = 3072,
    int NumHiddenLayers = 12,
    int NumAttentionHeads = 12,
    int VocabSize = 49408,
    int MaxPositionEmbeddings = 77,
    string HiddenAct = "quick_gelu",
    float LayerNormEps = 1e-5f)
{
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads a text_encoder/config.json; absent keys keep transformers' defaults.</summary>
    public static ClipTextConfig FromJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return FromJson(doc.RootElement, path);
    }

    /// <summary>Reads a parsed config.json (source names it in errors); absent keys keep transformers' defaults.</summary>
    public static ClipTextConfig FromJson(JsonElement r, string source)
    {
        var d = new ClipTextConfig();
        var c = new ClipTextConfig(
            Int(r, "hidden_size", d.HiddenSize),
            Int(r, "intermediate_size", d.IntermediateSize),
            Int(r, "num_hidden_layers", d.NumHiddenLayers),
            Int(r, "num_attention_heads", d.NumAttentionHeads),
            Int(r, "vocab_size", d.VocabSize),
            Int(r, "max_position_embeddings", d.MaxPositionEmbeddings),
            r.TryGetProperty("hidden_act", out var act) ? act.GetString() ?? d.HiddenAct : d.HiddenAct,
            r.TryGetProperty("layer_norm_eps", out var eps) ? eps.GetSingle() : d.LayerNormEps);
        c.Validate(source);
        return c;
    }

    public void Validate(string source)
    {
        if (HiddenSize <= 0 || NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException($"{source}: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (HiddenAct is not ("quick_gelu" or "gelu"))
            throw new InvalidDataException($"{source}: hidden_act '{HiddenAct}' is not supported (quick_gelu or gelu)");
        if (IntermediateSize <= 0 || NumHiddenLayers <= 0 || VocabSize <= 0 || MaxPositionEmbeddings <= 0)
            throw new InvalidDataException($"{source}: sizes must be positive");
    }

    private static int Int(JsonElement r, string key, int fallback) => r.TryGetProperty(key, out var v) ? v.GetInt32() : fallback;
}
