using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Vae;

/// <summary>
/// The decoding half of diffusers AutoencoderKL, forward only: AutoencoderKL.decode(z).sample =
/// decoder(post_quant_conv(z)). The decoder is conv_in, a mid block (resnet, single-head attention, resnet),
/// up blocks of layers_per_block + 1 resnets each with a ×2 upsampler on all but the last, then
/// conv_norm_out, SiLU and conv_out. No skip connections, no time embedding.
/// Parameter names are the diffusers checkpoint keys (decoder.*, post_quant_conv.*).
/// z is used as given: the caller divides latents by <see cref="VaeConfig.ScalingFactor"/> first.
/// </summary>
public sealed class AutoencoderKLDecoder
{
    public VaeConfig Config { get; }

    public ParameterStore Parameters { get; }

    private readonly Conv2d? _postQuantConv;
    private readonly Conv2d _convIn, _convOut;
    private readonly VaeResnetBlock[] _midResnets;
    private readonly VaeAttention? _midAttention;
    private readonly VaeResnetBlock[][] _upResnets;
    private readonly VaeUpsample?[] _upsamplers;
    private readonly GroupNorm _convNormOut;

    public AutoencoderKLDecoder(VaeConfig config, ITensorAllocator allocator)
    {
        Config = config;
        Parameters = new ParameterStore(new ParameterLayout(Declare(config), _ => false), allocator);
        var p = Parameters;
        int g = config.NormNumGroups, levels = config.BlockOutChannels.Length;
        _postQuantConv = config.UsePostQuantConv ? new Conv2d(p, "post_quant_conv") : null;
        _convIn = new Conv2d(p, "decoder.conv_in");
        _midResnets = [new VaeResnetBlock(p, "decoder.mid_block.resnets.0", g, false), new VaeResnetBlock(p, "decoder.mid_block.resnets.1", g, false)];
        _midAttention = config.MidBlockAddAttention ? new VaeAttention(p, "decoder.mid_block.attentions.0", g) : null;
        _upResnets = new VaeResnetBlock[levels][];
        _upsamplers = new VaeUpsample?[levels];
        foreach (var (i, cin, cout) in UpChannels(config))
        {
            _upResnets[i] = [.. Enumerable.Range(0, config.LayersPerBlock + 1)
                .Select(j => new VaeResnetBlock(p, $"decoder.up_blocks.{i}.resnets.{j}", g, (j == 0 ? cin : cout) != cout))];
            _upsamplers[i] = i < levels - 1 ? new VaeUpsample(p, $"decoder.up_blocks.{i}.upsamplers.0") : null;
        }
        _convNormOut = new GroupNorm(p, "decoder.conv_norm_out", g, VaeConfig.NormEps);
        _convOut = new Conv2d(p, "decoder.conv_out");
    }

    /// <summary>Up block i: input width (the previous block's output) and output width; channels run reversed.</summary>
    private static IEnumerable<(int I, int Cin, int Cout)> UpChannels(VaeConfig c)
    {
        int levels = c.BlockOutChannels.Length, prev = c.BlockOutChannels[^1];
        for (int i = 0; i < levels; i++)
        {
            int cout = c.BlockOutChannels[levels - 1 - i];
            yield return (i, prev, cout);
            prev = cout;
        }
    }

    /// <summary>Every decoder parameter with its diffusers name and shape.</summary>
    public static List<(string, Shape)> Declare(VaeConfig c)
    {
        var d = new List<(string, Shape)>();
        int top = c.BlockOutChannels[^1];
        if (c.UsePostQuantConv) Conv2d.Declare(d, "post_quant_conv", c.LatentChannels, c.LatentChannels, 1);
        Conv2d.Declare(d, "decoder.conv_in", c.LatentChannels, top, 3);
        VaeResnetBlock.Declare(d, "decoder.mid_block.resnets.0", top, top);
        if (c.MidBlockAddAttention) VaeAttention.Declare(d, "decoder.mid_block.attentions.0", top);
        VaeResnetBlock.Declare(d, "decoder.mid_block.resnets.1", top, top);
        foreach (var (i, cin, cout) in UpChannels(c))
        {
            for (int j = 0; j <= c.LayersPerBlock; j++)
                VaeResnetBlock.Declare(d, $"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? cin : cout, cout);
            if (i < c.BlockOutChannels.Length - 1) VaeUpsample.Declare(d, $"decoder.up_blocks.{i}.upsamplers.0", cout);
        }
        GroupNorm.Declare(d, "decoder.conv_norm_out", c.BlockOutChannels[0]);
        Conv2d.Declare(d, "decoder.conv_out", c.BlockOutChannels[0], c.OutChannels, 3);
        return d;
    }

    /// <summary>
    /// Checkpoint key → parameter name: encoder.* and quant_conv.* are skipped on purpose (null), as is
    /// post_quant_conv.* when the config has none; the legacy attention names (query, key, value, proj_attn)
    /// become to_q, to_k, to_v, to_out.0.
    /// </summary>
    public static string? ParameterName(string key, VaeConfig config)
    {
        if (key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("quant_conv.", StringComparison.Ordinal)) return null;
        if (!config.UsePostQuantConv && key.StartsWith("post_quant_conv.", StringComparison.Ordinal)) return null;
        const string attn = "decoder.mid_block.attentions.0.";
        if (!key.StartsWith(attn, StringComparison.Ordinal)) return key;
        string rest = key[attn.Length..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0) return key;
        string renamed = rest[..dot] switch
        {
            "query" => "to_q",
            "key" => "to_k",
            "value" => "to_v",
            "proj_attn" => "to_out.0",
            _ => rest[..dot],
        };
        return attn + renamed + rest[dot..];
    }

    /// <summary>
    /// z [N, latent_channels, h, w] → image [N, out_channels, h·f, w·f], f = 2^(levels-1). Every buffer,
    /// the result included, comes from <paramref name="arena"/>: reset it (or release to a mark) between calls;
    /// the temporaries of each block are released as soon as the block is done, so only block outputs stay.
    /// </summary>
    public Tensor Decode(IOps ops, ITensorArena arena, Tensor z)
    {
        var c = Config;
        if (z.Rank != 4 || z.Dim(1) != c.LatentChannels)
            throw new ArgumentException($"z {z.Shape} must be [N, {c.LatentChannels}, h, w]");
        var h = z;
        if (_postQuantConv is not null)
        {
            h = arena.Alloc(_postQuantConv.OutputShape(z), zero: false);
            _postQuantConv.Forward(ops, h, z);
        }
        var x = arena.Alloc(_convIn.OutputShape(h), zero: false);
        _convIn.Forward(ops, x, h);
        x = _midResnets[0].Forward(ops, arena, x);
        if (_midAttention is not null) x = _midAttention.Forward(ops, arena, x);
        x = _midResnets[1].Forward(ops, arena, x);
        for (int i = 0; i < _upResnets.Length; i++)
        {
            foreach (var resnet in _upResnets[i]) x = resnet.Forward(ops, arena, x);
            if (_upsamplers[i] is { } up) x = up.Forward(ops, arena, x);
        }
        var y = arena.Alloc(_convOut.OutputShape(x), zero: false);
        var mark = arena.Mark();
        var a = VaeResnetBlock.NormSilu(ops, arena, _convNormOut, x);
        _convOut.Forward(ops, y, a);
        arena.Release(mark);
        return y;
    }
}
