using System.Text.Json;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Clip;
using Engine.Models.Unet;

namespace Engine.Models.Loading;

/// <summary>VAE sizes a single file reveals: enough to build the VAE's <see cref="NameMap"/>.</summary>
public sealed record VaeLayout(int Levels, int LayersPerBlock, string Prefix);

/// <summary>What a single file holds, inferred from its tensor shapes (plus our own metadata when present).</summary>
public sealed record DetectedConfigs(UNetConfig UNet, ClipTextConfig TextEncoder, VaeLayout? Vae)
{
    /// <summary>One line with every inferred value, for the log.</summary>
    public string Describe()
    {
        var u = UNet;
        var t = TextEncoder;
        string vae = Vae is null ? "none" : $"levels {Vae.Levels}, layers_per_block {Vae.LayersPerBlock}";
        return $"unet: block_out_channels [{string.Join(", ", u.BlockOutChannels)}], layers_per_block {u.LayersPerBlock}, "
            + $"down [{string.Join(", ", u.DownBlockTypes)}], up [{string.Join(", ", u.UpBlockTypes)}], mid {u.MidBlockType ?? "none"}, "
            + $"heads [{string.Join(", ", u.NumAttentionHeads)}], cross_attention_dim {u.CrossAttentionDim}, in/out {u.InChannels}/{u.OutChannels}, "
            + $"norm_num_groups {u.NormNumGroups}, transformer_layers {u.TransformerLayersPerBlock}; "
            + $"text_encoder: hidden {t.HiddenSize}, layers {t.NumHiddenLayers}, intermediate {t.IntermediateSize}, vocab {t.VocabSize}, "
            + $"heads {t.NumAttentionHeads}, positions {t.MaxPositionEmbeddings}; vae: {vae}";
    }
}

/// <summary>A UNet and text encoder loaded from one single file, plus the file's VAE keys for a later VAE loader.</summary>
public sealed record SingleFileModels(UNet2DConditionModel UNet, ClipTextModel TextEncoder, DetectedConfigs Configs,
    IReadOnlyDictionary<string, string> VaeKeys);

/// <summary>
/// Original SD 1.x single-file checkpoints (.safetensors with LDM/CompVis keys, docs/checkpoints.md): config
/// detection from the header, loading into our models through <see cref="NameMap"/>, and saving.
/// </summary>
public static class SingleFile
{
    /// <summary>Metadata keys our writer adds: the config.json texts, for values shapes cannot tell (norm groups, heads, eps).</summary>
    public const string UNetConfigKey = "unet_config", TextEncoderConfigKey = "text_encoder_config";

    /// <summary>
    /// Infers the configs from tensor shapes alone. Values no shape reveals take SD 1.x's: UNet heads 8 per level,
    /// norm_num_groups 32, CLIP heads hidden/64. When the file carries our config metadata, those values come from
    /// it instead (the shapes still decide every size).
    /// </summary>
    public static DetectedConfigs DetectFromWeights(SafetensorsHeader header, string source) =>
        DetectFromWeights(header.Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal), header.Metadata, source);

    /// <summary>The same from tensor names and shapes (what a header holds) and the header metadata.</summary>
    public static DetectedConfigs DetectFromWeights(IReadOnlyDictionary<string, IReadOnlyList<long>> shapes,
        IReadOnlyDictionary<string, string> metadata, string source)
    {
        var unet = DetectUNet(shapes, source);
        var te = DetectTextEncoder(shapes, source);
        if (metadata.TryGetValue(UNetConfigKey, out var uj))
        {
            var m = ConfigJson.ParseUNet(uj, source + " metadata " + UNetConfigKey);
            unet = unet with
            {
                NumAttentionHeads = m.NumAttentionHeads,
                NormNumGroups = m.NormNumGroups,
                NormEps = m.NormEps,
                FlipSinToCos = m.FlipSinToCos,
                FreqShift = m.FreqShift,
                SampleSize = m.SampleSize
            };
        }
        if (metadata.TryGetValue(TextEncoderConfigKey, out var tj))
        {
            var m = ConfigJson.ParseTextEncoder(tj, source + " metadata " + TextEncoderConfigKey);
            te = te with { NumAttentionHeads = m.NumAttentionHeads, HiddenAct = m.HiddenAct, LayerNormEps = m.LayerNormEps };
        }
        unet.Validate(source);
        te.Validate(source);
        return new DetectedConfigs(unet, te, DetectVae(shapes));
    }

    private static UNetConfig DetectUNet(IReadOnlyDictionary<string, IReadOnlyList<long>> s, string source)
    {
        const string p = NameMap.UNetPrefix;
        if (!s.TryGetValue(p + "input_blocks.0.0.weight", out var convIn))
            throw new InvalidDataException($"{source}: not an SD 1.x single-file checkpoint ({p}input_blocks.0.0.weight is missing)");
        if (!s.TryGetValue(p + "out.2.weight", out var convOut))
            throw new InvalidDataException($"{source}: {p}out.2.weight is missing");
        // Walk input_blocks: resnet slots until a downsampler (…0.op) closes the level.
        var levels = new List<List<int>>();
        var current = new List<int>();
        for (int n = 1; ; n++)
        {
            if (s.ContainsKey($"{p}input_blocks.{n}.0.op.weight")) { levels.Add(current); current = []; continue; }
            if (!s.ContainsKey($"{p}input_blocks.{n}.0.in_layers.0.weight")) break;
            current.Add(n);
        }
        levels.Add(current);
        int lpb = levels[0].Count;
        if (lpb == 0 || levels.Any(l => l.Count != lpb))
            throw new InvalidDataException($"{source}: input_blocks do not form levels of equal size ({string.Join(", ", levels.Select(l => l.Count))})");
        int count = levels.Count;
        var channels = levels.Select(l => (int)s[$"{p}input_blocks.{l[0]}.0.out_layers.3.weight"][0]).ToArray();
        var down = levels.Select(l => s.ContainsKey($"{p}input_blocks.{l[0]}.1.proj_in.weight") ? "CrossAttnDownBlock2D" : "DownBlock2D").ToArray();
        var up = Enumerable.Range(0, count)
            .Select(i => s.ContainsKey($"{p}output_blocks.{i * (lpb + 1)}.1.proj_in.weight") ? "CrossAttnUpBlock2D" : "UpBlock2D").ToArray();
        string? mid = s.ContainsKey(p + "middle_block.1.proj_in.weight") ? "UNetMidBlock2DCrossAttn" : null;
        string? attention = s.Keys.Where(k => k.StartsWith(p, StringComparison.Ordinal) && k.EndsWith(".proj_in.weight", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).FirstOrDefault();
        int cross = 768, transformerLayers = 1;
        if (attention is not null)
        {
            string block = attention[..^"proj_in.weight".Length];
            cross = (int)s[block + "transformer_blocks.0.attn2.to_k.weight"][1];
            transformerLayers = 0;
            while (s.ContainsKey($"{block}transformer_blocks.{transformerLayers}.norm1.weight")) transformerLayers++;
        }
        return new UNetConfig
        {
            InChannels = (int)convIn[1],
            OutChannels = (int)convOut[0],
            BlockOutChannels = channels,
            LayersPerBlock = lpb,
            DownBlockTypes = down,
            UpBlockTypes = up,
            MidBlockType = mid,
            NumAttentionHeads = [.. Enumerable.Repeat(8, count)],
            CrossAttentionDim = cross,
            TransformerLayersPerBlock = transformerLayers,
        };
    }

    private static ClipTextConfig DetectTextEncoder(IReadOnlyDictionary<string, IReadOnlyList<long>> s, string source)
    {
        string p = NameMap.TextEncoderPrefix + ClipTextModel.Prefix;
        if (!s.ContainsKey(p + "embeddings.token_embedding.weight")) p = NameMap.TextEncoderPrefix;
        if (!s.TryGetValue(p + "embeddings.token_embedding.weight", out var tokens))
            throw new InvalidDataException($"{source}: no CLIP text encoder ({NameMap.TextEncoderPrefix}text_model.embeddings.token_embedding.weight is missing)");
        int hidden = (int)tokens[1];
        int layers = 0;
        while (s.ContainsKey($"{p}encoder.layers.{layers}.self_attn.q_proj.weight")) layers++;
        if (layers == 0) throw new InvalidDataException($"{source}: the text encoder has no encoder.layers.0");
        return new ClipTextConfig(
            HiddenSize: hidden,
            IntermediateSize: (int)s[p + "encoder.layers.0.mlp.fc1.weight"][0],
            NumHiddenLayers: layers,
            NumAttentionHeads: Math.Max(1, hidden / 64),
            VocabSize: (int)tokens[0],
            MaxPositionEmbeddings: (int)s[p + "embeddings.position_embedding.weight"][0]);
    }

    private static VaeLayout? DetectVae(IReadOnlyDictionary<string, IReadOnlyList<long>> s)
    {
        foreach (var prefix in new[] { NameMap.VaePrefix, "vae." })
        {
            int levels = 0, lpb = 0;
            while (s.ContainsKey($"{prefix}encoder.down.{levels}.block.0.conv1.weight")) levels++;
            while (s.ContainsKey($"{prefix}encoder.down.0.block.{lpb}.conv1.weight")) lpb++;
            if (levels > 0 && lpb > 0) return new VaeLayout(levels, lpb, prefix);
        }
        return null;
    }

    /// <summary>
    /// Loads the UNet and text encoder of a single file. Every key is accounted for — a UNet or text-encoder weight,
    /// a VAE weight (returned as <see cref="SingleFileModels.VaeKeys"/>), or on the skip list — and every problem of
    /// both models (missing, unexpected, mismatched) is reported in one error before anything is copied.
    /// </summary>
    public static SingleFileModels Load(string path, ITensorAllocator allocator, Func<string, bool>? isTrainable = null, Action<string>? log = null)
    {
        using var file = SafetensorsReader.Open(path);
        var configs = DetectFromWeights(file.Header, path);
        log?.Invoke($"{Path.GetFileName(path)}: inferred {configs.Describe()}");
        var unetMap = NameMap.ForUNet(configs.UNet);
        var teMap = NameMap.ForTextEncoder();
        var vaeMap = configs.Vae is null ? null : NameMap.ForVae(configs.Vae.Levels, configs.Vae.LayersPerBlock, configs.Vae.Prefix);

        var vaeKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        var badVae = new List<string>();
        if (vaeMap is not null)
        {
            foreach (var t in file.Tensors.Where(t => vaeMap.Owns(t.Name)))
            {
                if (vaeMap.ToDiffusers(t.Name) is { } name) vaeKeys.Add(t.Name, name);
                else badVae.Add(t.Name);
            }
        }

        // The UNet load also reports keys that belong to no component and are not on the skip list.
        string? UNetName(string key) =>
            NameMap.IsSkipped(key) ? null
            : unetMap.Owns(key) ? unetMap.ToDiffusers(key) ?? key
            : teMap.Owns(key) || (vaeMap?.Owns(key) ?? false) ? null
            : key;
        string? TextName(string key) => !NameMap.IsSkipped(key) && teMap.Owns(key) ? teMap.ToDiffusers(key) : null;

        var unet = new UNet2DConditionModel(configs.UNet, allocator, isTrainable);
        var te = new ClipTextModel(configs.TextEncoder, allocator, isTrainable);
        var problems = new List<string>();
        if (WeightLoader.Diagnose(unet.Parameters, [file], UNetName, "unet", fileKeyOf: unetMap.ToLdm) is { } u) problems.Add(u);
        if (WeightLoader.Diagnose(te.Parameters, [file], TextName, "text_encoder", fileKeyOf: teMap.ToLdm) is { } t2) problems.Add(t2);
        if (badVae.Count > 0) problems.Add($"vae: unexpected ({badVae.Count}):\n    " + string.Join("\n    ", badVae));
        if (problems.Count > 0) throw new InvalidDataException(string.Join("\n", problems));
        WeightLoader.Load(unet.Parameters, [file], UNetName, "unet");
        WeightLoader.Load(te.Parameters, [file], TextName, "text_encoder");
        return new SingleFileModels(unet, te, configs, vaeKeys);
    }

    /// <summary>
    /// Writes a single file with LDM keys: the UNet, the text encoder, and — when a diffusers vae/ folder is given — its
    /// weights (legacy query/key/value/proj_attn names accepted; attention weights written in LDM's [C, C, 1, 1] form).
    /// Our config.json texts go into the metadata. Atomic: the writer renames a finished temporary file into place.
    /// </summary>
    public static void Save(string path, UNet2DConditionModel unet, ClipTextModel textEncoder, string? vaeFolder = null,
        SafetensorsDType storeAs = SafetensorsDType.F32)
    {
        var w = new SafetensorsWriter();
        var unetMap = NameMap.ForUNet(unet.Config);
        foreach (var p in unet.Parameters.Layout.Parameters)
            w.Add(unetMap.ToLdm(p.Name) ?? throw new InvalidOperationException($"no LDM name for unet.{p.Name}"), unet.Parameters.Weight(p.Name), unet.Parameters.Memory, storeAs);
        var teMap = NameMap.ForTextEncoder();
        foreach (var p in textEncoder.Parameters.Layout.Parameters)
            w.Add(teMap.ToLdm(p.Name)!, textEncoder.Parameters.Weight(p.Name), textEncoder.Parameters.Memory, storeAs);
        w.Metadata[UNetConfigKey] = ConfigJson.UNet(unet.Config);
        w.Metadata[TextEncoderConfigKey] = ConfigJson.TextEncoder(textEncoder.Config);
        if (vaeFolder is not null)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(vaeFolder, "config.json")));
            int levels = doc.RootElement.GetProperty("block_out_channels").GetArrayLength();
            int lpb = doc.RootElement.TryGetProperty("layers_per_block", out var l) ? l.GetInt32() : 1;
            var vaeMap = NameMap.ForVae(levels, lpb);
            using var vae = SafetensorsReader.Open(ModelFiles.WeightFile(vaeFolder));
            foreach (var t in vae.Tensors)
            {
                string name = NameMap.CurrentVaeName(t.Name);
                string key = vaeMap.ToLdm(name) ?? throw new InvalidDataException($"{vae.FilePath}: no LDM name for vae tensor {t.Name}");
                var shape = t.Shape.ToList();
                if (vaeMap.IsConvLinearWeight(name) && shape.Count == 2) shape.AddRange([1, 1]);
                w.AddRaw(key, t.DType, shape.ToArray(), vae.RawBytes(t.Name).ToArray());
            }
        }
        w.Save(path);
    }
}
