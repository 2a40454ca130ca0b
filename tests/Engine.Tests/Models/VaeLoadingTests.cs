using Engine.Cpu;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Models.Vae;
using Engine.Tests.Testing;

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

/// <summary>Loading real files: legacy attention names give the same decoder; a missing tensor is named.</summary>
public class VaeFileTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    /// <summary>A copy of the fixture's vae/ folder with its tensors renamed (null drops one).</summary>
    private static string RewrittenVae(Func<string, string?> rename)
    {
        string dir = Directory.CreateTempSubdirectory("vae-legacy-").FullName;
        File.Copy(Path.Combine(Fixture, "vae", "config.json"), Path.Combine(dir, "config.json"));
        using var source = SafetensorsReader.Open(ModelFiles.WeightFile(Path.Combine(Fixture, "vae")));
        var writer = new SafetensorsWriter();
        foreach (var t in source.Tensors)
        {
            if (rename(t.Name) is not { } name) continue;
            var values = new float[t.Numel];
            source.ReadF32(t.Name, values);
            writer.Add(name, values, [.. t.Shape]);
        }
        writer.Save(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        return dir;
    }

    private static float[] Decode(string vaeDir, int threads = 0)
    {
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        using var parameters = new NativeArena();
        using var activations = new NativeArena();
        var ops = new CpuOps(threads);
        var model = ModelFiles.LoadVaeDecoder(vaeDir, parameters);
        var y = model.Decode(ops, activations, cases.LoadF32("vae.z", parameters));
        var host = new float[y.Numel];
        ops.CopyToHost(host, y);
        return host;
    }

    [Fact]
    public void LegacyAttentionNames_DecodeTheSame()
    {
        string dir = RewrittenVae(name => name
            .Replace("attentions.0.to_q.", "attentions.0.query.", StringComparison.Ordinal)
            .Replace("attentions.0.to_k.", "attentions.0.key.", StringComparison.Ordinal)
            .Replace("attentions.0.to_v.", "attentions.0.value.", StringComparison.Ordinal)
            .Replace("attentions.0.to_out.0.", "attentions.0.proj_attn.", StringComparison.Ordinal));
        try
        {
            using (var r = SafetensorsReader.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors")))
                Assert.True(r.Contains("decoder.mid_block.attentions.0.proj_attn.weight"));
            Close.Bitwise("vae.decoded", Decode(Path.Combine(Fixture, "vae")), Decode(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Decode_IsBitwiseTheSameOnOneAndThreeThreads() =>
        Close.Bitwise("vae.decoded", Decode(Path.Combine(Fixture, "vae"), 1), Decode(Path.Combine(Fixture, "vae"), 3));

    [Fact]
    public void MissingDecoderTensor_IsNamed_EncoderTensorsAreNotNeeded()
    {
        string dir = RewrittenVae(name => name == "decoder.conv_out.bias" || name.StartsWith("encoder.", StringComparison.Ordinal) ? null : name);
        try
        {
            using var arena = new NativeArena();
            var e = Assert.Throws<InvalidDataException>(() => ModelFiles.LoadVaeDecoder(dir, arena));
            Assert.Contains("decoder.conv_out.bias", e.Message);
            Assert.DoesNotContain("encoder.conv_in", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
