using Engine.Models.Vae;

namespace Engine.Tests.Models;

/// <summary>How the VAE decoder maps checkpoint keys and lays out its parameters.</summary>
public class VaeLoadingTests
{
    private static readonly VaeConfig Config = new() { BlockOutChannels = [32, 64], LayersPerBlock = 1, NormNumGroups = 8 };

    [Theory]
    [InlineData("encoder.conv_in.weight", null)]
    [InlineData("quant_conv.bias", null)]
    [InlineData("post_quant_conv.weight", "post_quant_conv.weight")]
    [InlineData("decoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.to_q.weight")]
    [InlineData("decoder.mid_block.attentions.0.key.bias", "decoder.mid_block.attentions.0.to_k.bias")]
    [InlineData("decoder.mid_block.attentions.0.value.weight", "decoder.mid_block.attentions.0.to_v.weight")]
    [InlineData("decoder.mid_block.attentions.0.proj_attn.bias", "decoder.mid_block.attentions.0.to_out.0.bias")]
    [InlineData("decoder.mid_block.attentions.0.to_out.0.weight", "decoder.mid_block.attentions.0.to_out.0.weight")]
    [InlineData("decoder.mid_block.attentions.0.group_norm.weight", "decoder.mid_block.attentions.0.group_norm.weight")]
    public void ParameterName_SkipsEncoderAndMapsLegacyAttention(string key, string? expected) =>
        Assert.Equal(expected, AutoencoderKLDecoder.ParameterName(key, Config));

    [Fact]
    public void Declare_ShortcutOnlyWhereTheWidthChanges()
    {
        var names = AutoencoderKLDecoder.Declare(Config).Select(d => d.Item1).ToHashSet();
        Assert.Contains("decoder.up_blocks.1.resnets.0.conv_shortcut.weight", names);
        Assert.DoesNotContain("decoder.up_blocks.0.resnets.0.conv_shortcut.weight", names);
        Assert.Contains("decoder.up_blocks.0.upsamplers.0.conv.weight", names);
        Assert.DoesNotContain("decoder.up_blocks.1.upsamplers.0.conv.weight", names);
        Assert.DoesNotContain(names, n => n.Contains("time_emb_proj", StringComparison.Ordinal));
    }
}
