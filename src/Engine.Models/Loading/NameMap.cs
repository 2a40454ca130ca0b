using Engine.Models.Unet;

namespace Engine.Models.Loading;

/// <summary>What the tensors inside a mapped block are called in each format.</summary>
public enum BlockKind
{
    /// <summary>Everything after the block prefix is the same in both formats (convs, linears, SpatialTransformer interiors).</summary>
    Same,
    /// <summary>openaimodel ResBlock ↔ diffusers ResnetBlock2D (in_layers.0 ↔ norm1, ...).</summary>
    UNetResnet,
    /// <summary>LDM VAE ResnetBlock ↔ ResnetBlock2D without time embedding (nin_shortcut ↔ conv_shortcut).</summary>
    VaeResnet,
    /// <summary>LDM VAE AttnBlock ↔ diffusers Attention; q/k/v/proj_out weights are [C, C, 1, 1] in LDM and [C, C] in diffusers.</summary>
    VaeAttention,
}

/// <summary>One row of the table: the LDM block prefix, the diffusers block prefix, and how the interior is named.</summary>
public sealed record NameRule(string Ldm, string Diffusers, BlockKind Kind);

/// <summary>
/// The mapping between original single-file (LDM/CompVis) checkpoint keys and diffusers/transformers names for one
/// component, in both directions (sd-architecture.md §7). The table is generated from the component's config — block
/// counts, layers per block, which blocks have attention — so it fits any SD 1.x-shaped model, not only SD1.5's sizes.
/// Matching is on whole dot-separated segments: input_blocks.1 never matches input_blocks.10.
/// </summary>
public sealed class NameMap
{
    public const string UNetPrefix = "model.diffusion_model.";
    public const string VaePrefix = "first_stage_model.";
    public const string TextEncoderPrefix = "cond_stage_model.transformer.";

    /// <summary>LDM schedule buffers (ddpm.py registers them as persistent buffers); not weights.</summary>
    public static readonly IReadOnlySet<string> ScheduleBuffers = new HashSet<string>(StringComparer.Ordinal)
    {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar", "scale_factor",
    };

    /// <summary>
    /// The explicit skip list: keys a single file may carry that are not weights of any component we load — EMA copies
    /// (model_ema.*), the schedule buffers, and the CLIP position_ids buffer (recomputed as 0..L-1).
    /// </summary>
    public static bool IsSkipped(string key) =>
        key.StartsWith("model_ema.", StringComparison.Ordinal)
        || ScheduleBuffers.Contains(key)
        || key.EndsWith("embeddings.position_ids", StringComparison.Ordinal);

    private static readonly (string Ldm, string Diffusers)[] UNetResnetInterior =
    [
        ("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("emb_layers.1", "time_emb_proj"),
        ("out_layers.0", "norm2"), ("out_layers.3", "conv2"), ("skip_connection", "conv_shortcut"),
    ];

    private static readonly (string Ldm, string Diffusers)[] VaeResnetInterior = [("nin_shortcut", "conv_shortcut")];

    private static readonly (string Ldm, string Diffusers)[] VaeAttentionInterior =
    [
        ("norm", "group_norm"), ("q", "to_q"), ("k", "to_k"), ("v", "to_v"), ("proj_out", "to_out.0"),
    ];

    private readonly Dictionary<string, NameRule> _byLdm = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NameRule> _byDiffusers = new(StringComparer.Ordinal);

    private NameMap(string prefix, IReadOnlyList<NameRule> rules)
    {
        Prefix = prefix;
        Rules = rules;
        foreach (var r in rules)
        {
            _byLdm.Add(r.Ldm, r);
            _byDiffusers.Add(r.Diffusers, r);
        }
    }

    /// <summary>The component's key prefix in a single file (e.g. model.diffusion_model.).</summary>
    public string Prefix { get; }

    /// <summary>The table, one row per block; an empty table means "same names after the prefix" (the text encoder).</summary>
    public IReadOnlyList<NameRule> Rules { get; }

    /// <summary>The UNet table from a diffusers config (openaimodel's input_blocks/middle_block/output_blocks numbering).</summary>
    public static NameMap ForUNet(UNetConfig c)
    {
        int levels = c.BlockOutChannels.Length, lpb = c.LayersPerBlock;
        var t = new List<NameRule>
        {
            new("time_embed.0", "time_embedding.linear_1", BlockKind.Same),
            new("time_embed.2", "time_embedding.linear_2", BlockKind.Same),
            new("input_blocks.0.0", "conv_in", BlockKind.Same),
        };
        // input_blocks: slot 0 is conv_in, then per level lpb (resnet [, attention]) slots and one downsampler slot.
        int n = 1;
        for (int i = 0; i < levels; i++)
        {
            bool attn = c.DownBlockTypes[i] == "CrossAttnDownBlock2D";
            for (int j = 0; j < lpb; j++, n++)
            {
                t.Add(new($"input_blocks.{n}.0", $"down_blocks.{i}.resnets.{j}", BlockKind.UNetResnet));
                if (attn) t.Add(new($"input_blocks.{n}.1", $"down_blocks.{i}.attentions.{j}", BlockKind.Same));
            }
            if (i < levels - 1) t.Add(new($"input_blocks.{n++}.0.op", $"down_blocks.{i}.downsamplers.0.conv", BlockKind.Same));
        }
        if (c.MidBlockType is not null)
        {
            t.Add(new("middle_block.0", "mid_block.resnets.0", BlockKind.UNetResnet));
            t.Add(new("middle_block.1", "mid_block.attentions.0", BlockKind.Same));
            t.Add(new("middle_block.2", "mid_block.resnets.1", BlockKind.UNetResnet));
        }
        // output_blocks: lpb + 1 slots per level; the upsampler sits after the attention when there is one.
        n = 0;
        for (int i = 0; i < levels; i++)
        {
            bool attn = c.UpBlockTypes[i] == "CrossAttnUpBlock2D";
            for (int j = 0; j <= lpb; j++, n++)
            {
                t.Add(new($"output_blocks.{n}.0", $"up_blocks.{i}.resnets.{j}", BlockKind.UNetResnet));
                if (attn) t.Add(new($"output_blocks.{n}.1", $"up_blocks.{i}.attentions.{j}", BlockKind.Same));
                if (j == lpb && i < levels - 1) t.Add(new($"output_blocks.{n}.{(attn ? 2 : 1)}.conv", $"up_blocks.{i}.upsamplers.0.conv", BlockKind.Same));
            }
        }
        t.Add(new("out.0", "conv_norm_out", BlockKind.Same));
        t.Add(new("out.2", "conv_out", BlockKind.Same));
        return new NameMap(UNetPrefix, t);
    }

    /// <summary>
    /// The VAE table (AutoencoderKL with DownEncoderBlock2D/UpDecoderBlock2D blocks): levels = block_out_channels length,
    /// layersPerBlock = the config's layers_per_block (decoder up blocks have one more resnet).
    /// </summary>
    public static NameMap ForVae(int levels, int layersPerBlock, string prefix = VaePrefix)
    {
        if (levels < 1 || layersPerBlock < 1) throw new ArgumentException($"VAE needs ≥ 1 level and ≥ 1 layer per block, got {levels} and {layersPerBlock}");
        var t = new List<NameRule>
        {
            new("quant_conv", "quant_conv", BlockKind.Same),
            new("post_quant_conv", "post_quant_conv", BlockKind.Same),
        };
        foreach (var part in new[] { "encoder", "decoder" })
        {
            t.Add(new($"{part}.conv_in", $"{part}.conv_in", BlockKind.Same));
            t.Add(new($"{part}.conv_out", $"{part}.conv_out", BlockKind.Same));
            t.Add(new($"{part}.norm_out", $"{part}.conv_norm_out", BlockKind.Same));
            t.Add(new($"{part}.mid.block_1", $"{part}.mid_block.resnets.0", BlockKind.VaeResnet));
            t.Add(new($"{part}.mid.attn_1", $"{part}.mid_block.attentions.0", BlockKind.VaeAttention));
            t.Add(new($"{part}.mid.block_2", $"{part}.mid_block.resnets.1", BlockKind.VaeResnet));
        }
        for (int i = 0; i < levels; i++)
        {
            for (int j = 0; j < layersPerBlock; j++)
                t.Add(new($"encoder.down.{i}.block.{j}", $"encoder.down_blocks.{i}.resnets.{j}", BlockKind.VaeResnet));
            if (i < levels - 1) t.Add(new($"encoder.down.{i}.downsample.conv", $"encoder.down_blocks.{i}.downsamplers.0.conv", BlockKind.Same));
        }
        // LDM numbers the decoder's up levels from the lowest resolution's opposite end: up.{k} is up_blocks.{levels-1-k}.
        for (int k = 0; k < levels; k++)
        {
            int i = levels - 1 - k;
            for (int j = 0; j <= layersPerBlock; j++)
                t.Add(new($"decoder.up.{k}.block.{j}", $"decoder.up_blocks.{i}.resnets.{j}", BlockKind.VaeResnet));
            if (k > 0) t.Add(new($"decoder.up.{k}.upsample.conv", $"decoder.up_blocks.{i}.upsamplers.0.conv", BlockKind.Same));
        }
        return new NameMap(prefix, t);
    }

    private static readonly (string Legacy, string Current)[] VaeLegacyAttention =
        [("query", "to_q"), ("key", "to_k"), ("value", "to_v"), ("proj_attn", "to_out.0")];

    /// <summary>
    /// diffusers VAE files written before the 2023 attention refactor name the mid-block attention query/key/value/proj_attn
    /// (sd-architecture.md §6.3); this returns the current name (to_q/to_k/to_v/to_out.0), other names unchanged.
    /// </summary>
    public static string CurrentVaeName(string diffusersName)
    {
        foreach (var (legacy, current) in VaeLegacyAttention)
        {
            string from = ".mid_block.attentions.0." + legacy + ".";
            int at = diffusersName.IndexOf(from, StringComparison.Ordinal);
            if (at >= 0) return diffusersName[..at] + ".mid_block.attentions.0." + current + "." + diffusersName[(at + from.Length)..];
        }
        return diffusersName;
    }

    /// <summary>The CLIP text encoder: transformers names (text_model.…) behind cond_stage_model.transformer.</summary>
    public static NameMap ForTextEncoder() => new(TextEncoderPrefix, []);

    /// <summary>Whether a single-file key belongs to this component (has its prefix).</summary>
    public bool Owns(string ldmKey) => ldmKey.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Single-file key (with prefix) → diffusers name, or null when the key has this component's prefix but no rule
    /// matches (a foreign tensor the caller reports as unexpected). Keys without the prefix are a caller error.
    /// </summary>
    public string? ToDiffusers(string ldmKey)
    {
        if (!Owns(ldmKey)) throw new ArgumentException($"'{ldmKey}' does not start with {Prefix}", nameof(ldmKey));
        string rest = ldmKey[Prefix.Length..];
        if (Rules.Count == 0)
            return rest.StartsWith(Clip.ClipTextModel.Prefix, StringComparison.Ordinal) ? rest : Clip.ClipTextModel.Prefix + rest;
        return Translate(rest, _byLdm, toDiffusers: true);
    }

    /// <summary>diffusers name → single-file key (with prefix), or null when no rule covers the name.</summary>
    public string? ToLdm(string diffusersName)
    {
        if (Rules.Count == 0) return Prefix + diffusersName;
        var rest = Translate(diffusersName, _byDiffusers, toDiffusers: false);
        return rest is null ? null : Prefix + rest;
    }

    /// <summary>
    /// True for the VAE attention q/k/v/proj_out weights: stored [C, C, 1, 1] in LDM files and [C, C] in diffusers,
    /// the same bytes, so load and save only change the shape.
    /// </summary>
    public bool IsConvLinearWeight(string diffusersName)
    {
        if (!diffusersName.EndsWith(".weight", StringComparison.Ordinal)) return false;
        string block = diffusersName[..^".weight".Length];
        foreach (var (_, d) in VaeAttentionInterior)
        {
            if (d == "group_norm" || !block.EndsWith("." + d, StringComparison.Ordinal)) continue;
            return _byDiffusers.TryGetValue(block[..^(d.Length + 1)], out var rule) && rule.Kind == BlockKind.VaeAttention;
        }
        return false;
    }

    /// <summary>Longest-prefix lookup over whole segments, then the interior rename of the block's kind.</summary>
    private static string? Translate(string name, Dictionary<string, NameRule> table, bool toDiffusers)
    {
        for (int cut = name.LastIndexOf('.'); cut > 0; cut = name.LastIndexOf('.', cut - 1))
        {
            if (!table.TryGetValue(name[..cut], out var rule)) continue;
            string inner = name[(cut + 1)..];
            var interior = rule.Kind switch
            {
                BlockKind.UNetResnet => UNetResnetInterior,
                BlockKind.VaeResnet => VaeResnetInterior,
                BlockKind.VaeAttention => VaeAttentionInterior,
                _ => [],
            };
            string renamed = inner;
            bool matched = false;
            foreach (var (l, d) in interior)
            {
                var (from, to) = toDiffusers ? (l, d) : (d, l);
                if (!inner.StartsWith(from + ".", StringComparison.Ordinal)) continue;
                renamed = to + inner[from.Length..];
                matched = true;
                break;
            }
            // A VAE attention has nothing but the renamed tensors: an unknown interior name is not ours.
            if (rule.Kind == BlockKind.VaeAttention && !matched) return null;
            return (toDiffusers ? rule.Diffusers : rule.Ldm) + "." + renamed;
        }
        return null;
    }
}
