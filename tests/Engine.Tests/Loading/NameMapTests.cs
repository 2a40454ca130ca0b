using Engine.IO.Safetensors;
using Engine.Models.Clip;
using Engine.Models.Loading;
using Engine.Models.Unet;

namespace Engine.Tests.Loading;

/// <summary>The LDM ↔ diffusers name table (sd-architecture.md §7) for the UNet, VAE and text encoder.</summary>
public class NameMapTests
{
    internal static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    /// <summary>SD1.5 (UNetConfig defaults), the tiny-sd fixture, and diffusers' UNet model-test config (§8 C).</summary>
    public static TheoryData<string> UNetConfigs => ["sd15", "tiny-sd", "fixture-c"];

    internal static UNetConfig UNetConfigNamed(string name) => name switch
    {
        "sd15" => new UNetConfig(),
        "tiny-sd" => UNetConfig.FromJson(Path.Combine(Fixture, "unet", "config.json")),
        "fixture-c" => new UNetConfig
        {
            BlockOutChannels = [4, 8],
            NormNumGroups = 4,
            DownBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"],
            UpBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"],
            CrossAttentionDim = 8,
            NumAttentionHeads = [2, 2],
            LayersPerBlock = 1,
            SampleSize = 16,
        },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(UNetConfigs))]
    public void UNet_EveryDiffusersName_RoundTripsThroughLdm(string configName)
    {
        var config = UNetConfigNamed(configName);
        var map = NameMap.ForUNet(config);
        var names = UNet2DConditionModel.Declare(config).Select(d => d.Item1).ToList();
        if (configName == "sd15") Assert.Equal(686, names.Count);
        if (configName is "tiny-sd" or "fixture-c") Assert.Equal(configName == "tiny-sd" ? 304 : 208, names.Count);
        var ldm = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var key = map.ToLdm(name);
            Assert.True(key is not null, $"no LDM name for {name}");
            Assert.StartsWith(NameMap.UNetPrefix, key);
            Assert.True(ldm.Add(key), $"two diffusers names map to {key}");
            Assert.Equal(name, map.ToDiffusers(key));
            Assert.False(NameMap.IsSkipped(key), key);
        }
    }

    [Fact]
    public void UNet_TinyFixtureFileNames_RoundTrip()
    {
        using var file = SafetensorsReader.Open(ModelFiles.WeightFile(Path.Combine(Fixture, "unet")));
        var map = NameMap.ForUNet(UNetConfigNamed("tiny-sd"));
        Assert.Equal(304, file.Tensors.Count);
        foreach (var t in file.Tensors) Assert.Equal(t.Name, map.ToDiffusers(map.ToLdm(t.Name)!));
    }

    [Theory]
    [InlineData("input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")]
    [InlineData("output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight")]
    [InlineData("output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias")]
    [InlineData("output_blocks.8.2.conv.weight", "up_blocks.2.upsamplers.0.conv.weight")]
    [InlineData("time_embed.0.weight", "time_embedding.linear_1.weight")]
    [InlineData("time_embed.2.bias", "time_embedding.linear_2.bias")]
    [InlineData("input_blocks.0.0.weight", "conv_in.weight")]
    [InlineData("out.0.weight", "conv_norm_out.weight")]
    [InlineData("out.2.bias", "conv_out.bias")]
    [InlineData("middle_block.1.proj_in.weight", "mid_block.attentions.0.proj_in.weight")]
    [InlineData("middle_block.0.in_layers.0.weight", "mid_block.resnets.0.norm1.weight")]
    [InlineData("middle_block.2.in_layers.2.weight", "mid_block.resnets.1.conv1.weight")]
    [InlineData("input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight")]
    [InlineData("input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias")]
    [InlineData("input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight")]
    [InlineData("input_blocks.10.0.in_layers.0.weight", "down_blocks.3.resnets.0.norm1.weight")]
    [InlineData("input_blocks.11.0.out_layers.3.bias", "down_blocks.3.resnets.1.conv2.bias")]
    [InlineData("input_blocks.1.0.emb_layers.1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight")]
    [InlineData("input_blocks.2.0.out_layers.0.bias", "down_blocks.0.resnets.1.norm2.bias")]
    [InlineData("output_blocks.0.0.skip_connection.weight", "up_blocks.0.resnets.0.conv_shortcut.weight")]
    [InlineData("output_blocks.11.1.proj_out.weight", "up_blocks.3.attentions.2.proj_out.weight")]
    [InlineData("output_blocks.3.1.transformer_blocks.0.ff.net.0.proj.weight", "up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj.weight")]
    [InlineData("output_blocks.4.1.transformer_blocks.0.attn1.to_out.0.bias", "up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_out.0.bias")]
    public void UNet_SD15_WellKnownPairs(string ldm, string diffusers)
    {
        var map = NameMap.ForUNet(new UNetConfig());
        Assert.Equal(diffusers, map.ToDiffusers(NameMap.UNetPrefix + ldm));
        Assert.Equal(NameMap.UNetPrefix + ldm, map.ToLdm(diffusers));
    }

    [Theory]
    [InlineData("input_blocks.12.0.in_layers.0.weight")] // one slot past SD1.5's 12 input blocks
    [InlineData("output_blocks.2.2.conv.weight")]        // up block 0 has no attention: its upsampler is slot 1
    [InlineData("input_blocks.10.1.proj_in.weight")]     // level 3 has no attention
    [InlineData("middle_block.3.in_layers.0.weight")]
    public void UNet_SD15_ForeignKeysDoNotMap(string ldm) =>
        Assert.Null(NameMap.ForUNet(new UNetConfig()).ToDiffusers(NameMap.UNetPrefix + ldm));

    [Fact]
    public void UNet_TinyFixture_UpsamplerSlotFollowsAttention()
    {
        // tiny-sd: up block 0 has attention (upsampler at slot 2), up block 1 has none; lpb 2 → 3 output slots per level.
        var map = NameMap.ForUNet(UNetConfigNamed("tiny-sd"));
        Assert.Equal(NameMap.UNetPrefix + "output_blocks.2.2.conv.weight", map.ToLdm("up_blocks.0.upsamplers.0.conv.weight"));
        Assert.Equal(NameMap.UNetPrefix + "input_blocks.4.1.norm.weight", map.ToLdm("down_blocks.1.attentions.0.norm.weight"));
    }

    /// <summary>Diffusers AutoencoderKL names from §6.3/§6.4, written independently of the table.</summary>
    internal static List<string> VaeNames(int[] channels, int lpb)
    {
        var n = new List<string>();
        void Pair(string p) { n.Add(p + ".weight"); n.Add(p + ".bias"); }
        void Resnet(string p, int cin, int cout)
        {
            foreach (var s in new[] { "norm1", "conv1", "norm2", "conv2" }) Pair($"{p}.{s}");
            if (cin != cout) Pair($"{p}.conv_shortcut");
        }
        void Mid(string p, int c)
        {
            Resnet($"{p}.mid_block.resnets.0", c, c);
            foreach (var s in new[] { "group_norm", "to_q", "to_k", "to_v", "to_out.0" }) Pair($"{p}.mid_block.attentions.0.{s}");
            Resnet($"{p}.mid_block.resnets.1", c, c);
        }
        int levels = channels.Length;
        Pair("encoder.conv_in");
        for (int i = 0; i < levels; i++)
        {
            for (int j = 0; j < lpb; j++) Resnet($"encoder.down_blocks.{i}.resnets.{j}", j == 0 && i > 0 ? channels[i - 1] : channels[i], channels[i]);
            if (i < levels - 1) Pair($"encoder.down_blocks.{i}.downsamplers.0.conv");
        }
        Mid("encoder", channels[^1]);
        Pair("encoder.conv_norm_out");
        Pair("encoder.conv_out");
        Pair("quant_conv");
        Pair("post_quant_conv");
        Pair("decoder.conv_in");
        Mid("decoder", channels[^1]);
        int prev = channels[^1];
        for (int i = 0; i < levels; i++)
        {
            int c = channels[levels - 1 - i];
            for (int j = 0; j <= lpb; j++) Resnet($"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? prev : c, c);
            if (i < levels - 1) Pair($"decoder.up_blocks.{i}.upsamplers.0.conv");
            prev = c;
        }
        Pair("decoder.conv_norm_out");
        Pair("decoder.conv_out");
        return n;
    }

    [Fact]
    public void Vae_SD15_EveryDiffusersName_RoundTripsThroughLdm()
    {
        var names = VaeNames([128, 256, 512, 512], 2);
        Assert.Equal(248, names.Count);
        Assert.Equal(140, names.Count(n => n.StartsWith("decoder.", StringComparison.Ordinal) || n.StartsWith("post_quant_conv", StringComparison.Ordinal)));
        AssertVaeRoundTrip(NameMap.ForVae(4, 2), names);
    }

    [Fact]
    public void Vae_TinyFixtureFileNames_RoundTrip()
    {
        using var file = SafetensorsReader.Open(ModelFiles.WeightFile(Path.Combine(Fixture, "vae")));
        var names = file.Tensors.Select(t => t.Name).ToList();
        Assert.Equal(VaeNames([32, 64], 1).Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        AssertVaeRoundTrip(NameMap.ForVae(2, 1), names);
        // The 1×1-conv form is exactly the attention q/k/v/out weights, and the file stores them 2-D.
        foreach (var t in file.Tensors)
            Assert.Equal(t.Rank == 2, NameMap.ForVae(2, 1).IsConvLinearWeight(t.Name));
    }

    private static void AssertVaeRoundTrip(NameMap map, List<string> names)
    {
        var ldm = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var key = map.ToLdm(name);
            Assert.True(key is not null, $"no LDM name for {name}");
            Assert.StartsWith(NameMap.VaePrefix, key);
            Assert.True(ldm.Add(key), $"two diffusers names map to {key}");
            Assert.Equal(name, map.ToDiffusers(key));
        }
        Assert.Equal(8, names.Count(map.IsConvLinearWeight)); // q, k, v, proj_out weights in the encoder and decoder mid blocks
    }

    [Theory]
    [InlineData("decoder.mid.attn_1.q.weight", "decoder.mid_block.attentions.0.to_q.weight", true)]
    [InlineData("decoder.mid.attn_1.k.weight", "decoder.mid_block.attentions.0.to_k.weight", true)]
    [InlineData("encoder.mid.attn_1.v.weight", "encoder.mid_block.attentions.0.to_v.weight", true)]
    [InlineData("decoder.mid.attn_1.proj_out.weight", "decoder.mid_block.attentions.0.to_out.0.weight", true)]
    [InlineData("decoder.mid.attn_1.q.bias", "decoder.mid_block.attentions.0.to_q.bias", false)]
    [InlineData("encoder.mid.attn_1.proj_out.bias", "encoder.mid_block.attentions.0.to_out.0.bias", false)]
    [InlineData("decoder.mid.attn_1.norm.weight", "decoder.mid_block.attentions.0.group_norm.weight", false)]
    [InlineData("decoder.mid.block_1.conv1.weight", "decoder.mid_block.resnets.0.conv1.weight", false)]
    [InlineData("encoder.mid.block_2.norm2.bias", "encoder.mid_block.resnets.1.norm2.bias", false)]
    [InlineData("decoder.up.3.block.0.conv1.weight", "decoder.up_blocks.0.resnets.0.conv1.weight", false)]
    [InlineData("decoder.up.0.block.2.conv2.bias", "decoder.up_blocks.3.resnets.2.conv2.bias", false)]
    [InlineData("decoder.up.0.block.0.nin_shortcut.weight", "decoder.up_blocks.3.resnets.0.conv_shortcut.weight", false)]
    [InlineData("decoder.up.1.upsample.conv.weight", "decoder.up_blocks.2.upsamplers.0.conv.weight", false)]
    [InlineData("decoder.up.3.upsample.conv.bias", "decoder.up_blocks.0.upsamplers.0.conv.bias", false)]
    [InlineData("encoder.down.1.block.0.nin_shortcut.bias", "encoder.down_blocks.1.resnets.0.conv_shortcut.bias", false)]
    [InlineData("encoder.down.0.downsample.conv.weight", "encoder.down_blocks.0.downsamplers.0.conv.weight", false)]
    [InlineData("encoder.norm_out.weight", "encoder.conv_norm_out.weight", false)]
    [InlineData("decoder.norm_out.bias", "decoder.conv_norm_out.bias", false)]
    [InlineData("decoder.conv_in.weight", "decoder.conv_in.weight", false)]
    [InlineData("quant_conv.weight", "quant_conv.weight", false)]
    [InlineData("post_quant_conv.bias", "post_quant_conv.bias", false)]
    public void Vae_SD15_WellKnownPairs(string ldm, string diffusers, bool reshaped)
    {
        var map = NameMap.ForVae(4, 2);
        Assert.Equal(diffusers, map.ToDiffusers(NameMap.VaePrefix + ldm));
        Assert.Equal(NameMap.VaePrefix + ldm, map.ToLdm(diffusers));
        Assert.Equal(reshaped, map.IsConvLinearWeight(diffusers));
    }

    [Theory]
    [InlineData("decoder.up.0.upsample.conv.weight")] // the last decoder level (up.0) has no upsampler
    [InlineData("encoder.down.3.downsample.conv.weight")]
    [InlineData("decoder.mid.attn_1.qkv.weight")]
    [InlineData("decoder.up.4.block.0.conv1.weight")]
    public void Vae_SD15_ForeignKeysDoNotMap(string ldm) => Assert.Null(NameMap.ForVae(4, 2).ToDiffusers(NameMap.VaePrefix + ldm));

    [Theory]
    [InlineData("decoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.to_q.weight")]
    [InlineData("encoder.mid_block.attentions.0.key.bias", "encoder.mid_block.attentions.0.to_k.bias")]
    [InlineData("decoder.mid_block.attentions.0.value.weight", "decoder.mid_block.attentions.0.to_v.weight")]
    [InlineData("decoder.mid_block.attentions.0.proj_attn.weight", "decoder.mid_block.attentions.0.to_out.0.weight")]
    [InlineData("decoder.mid_block.attentions.0.group_norm.weight", "decoder.mid_block.attentions.0.group_norm.weight")]
    [InlineData("decoder.up_blocks.0.resnets.0.conv1.weight", "decoder.up_blocks.0.resnets.0.conv1.weight")]
    public void Vae_LegacyAttentionNames(string legacy, string current) => Assert.Equal(current, NameMap.CurrentVaeName(legacy));

    [Fact]
    public void TextEncoder_SD15_EveryName_RoundTrips()
    {
        var map = NameMap.ForTextEncoder();
        var names = ClipTextModel.Declare(new ClipTextConfig()).Select(d => d.Item1).ToList();
        Assert.Equal(196, names.Count);
        foreach (var name in names)
        {
            var key = map.ToLdm(name)!;
            Assert.Equal(NameMap.TextEncoderPrefix + name, key);
            Assert.Equal(name, map.ToDiffusers(key));
        }
        // Older files lack the text_model. level; the map adds it.
        Assert.Equal("text_model.final_layer_norm.weight", map.ToDiffusers("cond_stage_model.transformer.final_layer_norm.weight"));
    }

    [Theory]
    [InlineData("model_ema.decay", true)]
    [InlineData("model_ema.num_updates", true)]
    [InlineData("model_ema.diffusion_modelinput_blocks00weight", true)]
    [InlineData("betas", true)]
    [InlineData("alphas_cumprod", true)]
    [InlineData("alphas_cumprod_prev", true)]
    [InlineData("posterior_mean_coef2", true)]
    [InlineData("cond_stage_model.transformer.text_model.embeddings.position_ids", true)]
    [InlineData("model.diffusion_model.input_blocks.0.0.weight", false)]
    [InlineData("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", false)]
    [InlineData("first_stage_model.decoder.conv_in.weight", false)]
    [InlineData("betas_extra", false)]
    public void SkipList(string key, bool skipped) => Assert.Equal(skipped, NameMap.IsSkipped(key));
}
