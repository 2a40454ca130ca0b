using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Unet;

/// <summary>
/// diffusers UNet2DConditionModel (SD 1.x family): ε̂ = UNet(x_t, t, encoder_hidden_states), forward and
/// backward. Parameter names are the diffusers checkpoint keys. Frozen parameters get no gradient work.
/// </summary>
public sealed class UNet2DConditionModel
{
    public UNetConfig Config { get; }

    public ParameterStore Parameters { get; }

    private readonly Conv2d _convIn, _convOut;
    private readonly Linear _timeLinear1, _timeLinear2;
    private readonly GroupNorm _convNormOut;
    private readonly Level[] _down, _up;
    private readonly ResnetBlock2D[] _midResnets;
    private readonly Transformer2D? _midAttention;

    // Saved by Forward for Backward.
    private Tensor _latents, _tproj, _t1, _t1Silu, _emb, _embSilu, _hOut, _nOut, _mOut, _rOut, _aOut;
    private readonly List<Tensor> _skips = [];
    private readonly Tensor[] _dSkips;

    /// <summary>One down or up level: resnets, optional transformers, optional resampler.</summary>
    private sealed class Level
    {
        public required ResnetBlock2D[] Resnets;
        public required Transformer2D?[] Attentions;
        public Downsample2D? Down;
        public Upsample2D? Up;

        // Down levels: whether a parameter of resnet j, of attention j or of the downsampler, or of any module
        // before it in the forward, trains (the backward can stop below the lowest trainable module).
        public bool[] ResnetTrainsBelow = [], AttentionTrainsBelow = [];
        public bool DownTrainsBelow;
    }

    public UNet2DConditionModel(UNetConfig config, ITensorAllocator allocator, Func<string, bool>? isTrainable = null)
        : this(config, new ParameterStore(new ParameterLayout(Declare(config), isTrainable ?? (_ => false)), allocator))
    {
    }

    private UNet2DConditionModel(UNetConfig config, ParameterStore parameters)
    {
        Config = config;
        Parameters = parameters;
        var p = Parameters;
        var c = config;
        int levels = c.BlockOutChannels.Length, g = c.NormNumGroups;
        _convIn = new Conv2d(p, "conv_in");
        _timeLinear1 = new Linear(p, "time_embedding.linear_1");
        _timeLinear2 = new Linear(p, "time_embedding.linear_2");
        _down = new Level[levels];
        for (int i = 0; i < levels; i++)
        {
            bool attn = c.DownBlockTypes[i] == "CrossAttnDownBlock2D";
            int cin = i == 0 ? c.BlockOutChannels[0] : c.BlockOutChannels[i - 1], cout = c.BlockOutChannels[i];
            _down[i] = new Level
            {
                Resnets = [.. Enumerable.Range(0, c.LayersPerBlock).Select(j => new ResnetBlock2D(p, $"down_blocks.{i}.resnets.{j}", g, c.NormEps, (j == 0 ? cin : cout) != cout))],
                Attentions = [.. Enumerable.Range(0, c.LayersPerBlock).Select(j => attn ? new Transformer2D(p, $"down_blocks.{i}.attentions.{j}", c.NumAttentionHeads[i], g, c.TransformerLayersPerBlock) : null)],
                Down = i < levels - 1 ? new Downsample2D(p, $"down_blocks.{i}.downsamplers.0") : null,
            };
        }
        if (c.MidBlockType is not null)
        {
            _midResnets = [new ResnetBlock2D(p, "mid_block.resnets.0", g, c.NormEps, false), new ResnetBlock2D(p, "mid_block.resnets.1", g, c.NormEps, false)];
            _midAttention = new Transformer2D(p, "mid_block.attentions.0", c.NumAttentionHeads[^1], g, c.TransformerLayersPerBlock);
        }
        else
        {
            _midResnets = [];
        }
        _up = new Level[levels];
        foreach (var (i, cin, cout, skipChannels) in UpChannels(c))
        {
            int level = levels - 1 - i;
            bool attn = c.UpBlockTypes[i] == "CrossAttnUpBlock2D";
            _up[i] = new Level
            {
                Resnets = [.. Enumerable.Range(0, c.LayersPerBlock + 1).Select(j => new ResnetBlock2D(p, $"up_blocks.{i}.resnets.{j}", g, c.NormEps, (j == 0 ? cin : cout) + skipChannels[j] != cout))],
                Attentions = [.. Enumerable.Range(0, c.LayersPerBlock + 1).Select(j => attn ? new Transformer2D(p, $"up_blocks.{i}.attentions.{j}", c.NumAttentionHeads[level], g, c.TransformerLayersPerBlock) : null)],
                Up = i < levels - 1 ? new Upsample2D(p, $"up_blocks.{i}.upsamplers.0") : null,
            };
        }
        _dSkips = new Tensor[1 + levels * c.LayersPerBlock + (levels - 1)];
        _convNormOut = new GroupNorm(p, "conv_norm_out", g, c.NormEps);
        _convOut = new Conv2d(p, "conv_out");
        MarkTrainableBelow();
    }

    /// <summary>Fills the down levels' TrainsBelow flags from the parameter names (forward order: conv_in first).</summary>
    private void MarkTrainableBelow()
    {
        var trainable = Parameters.Layout.Parameters.Where(q => q.Trainable).Select(q => q.Name).ToList();
        bool Trains(string prefix) => trainable.Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
        bool below = Trains("conv_in.");
        for (int i = 0; i < _down.Length; i++)
        {
            var level = _down[i];
            level.ResnetTrainsBelow = new bool[level.Resnets.Length];
            level.AttentionTrainsBelow = new bool[level.Resnets.Length];
            for (int j = 0; j < level.Resnets.Length; j++)
            {
                level.ResnetTrainsBelow[j] = below |= Trains($"down_blocks.{i}.resnets.{j}.");
                level.AttentionTrainsBelow[j] = below |= Trains($"down_blocks.{i}.attentions.{j}.");
            }
            level.DownTrainsBelow = below |= Trains($"down_blocks.{i}.downsamplers.");
        }
    }

    /// <summary>
    /// A second model over the same parameters (weights and gradients) with its own saved activations, so two
    /// forwards can each keep theirs for a backward (DoCo: one per loss, each over the half of the batch it
    /// differentiates). The BOS detach is copied; later changes to either are not shared.
    /// </summary>
    public UNet2DConditionModel Twin() => new(Config, Parameters) { DetachBosKeyValue = DetachBosKeyValue };

    /// <summary>Every cross-attention (attn2) module, down, mid, up.</summary>
    public IEnumerable<Attention> CrossAttentions =>
        _down.SelectMany(l => l.Attentions)
            .Concat(_midAttention is null ? [] : [_midAttention])
            .Concat(_up.SelectMany(l => l.Attentions))
            .OfType<Transformer2D>()
            .SelectMany(t => t.Blocks)
            .Select(b => b.CrossAttention);

    /// <summary>Sets <see cref="Attention.DetachFirstToken"/> on every cross-attention (Custom Diffusion's BOS K/V detach).</summary>
    public bool DetachBosKeyValue
    {
        get => CrossAttentions.All(a => a.DetachFirstToken);
        set
        {
            foreach (var a in CrossAttentions) a.DetachFirstToken = value;
        }
    }

    /// <summary>
    /// Channels of up block i: input width of resnet 0, output width, and the width of the skip each resnet
    /// pops (the skip stack is LIFO, so resnet j of up block i pops what the mirrored down level pushed).
    /// </summary>
    private static IEnumerable<(int I, int Cin, int Cout, int[] Skip)> UpChannels(UNetConfig c)
    {
        int levels = c.BlockOutChannels.Length;
        var skipStack = new List<int> { c.BlockOutChannels[0] };
        for (int i = 0; i < levels; i++)
        {
            for (int j = 0; j < c.LayersPerBlock; j++) skipStack.Add(c.BlockOutChannels[i]);
            if (i < levels - 1) skipStack.Add(c.BlockOutChannels[i]);
        }
        int prev = c.BlockOutChannels[^1];
        for (int i = 0; i < levels; i++)
        {
            int cout = c.BlockOutChannels[levels - 1 - i];
            var skip = new int[c.LayersPerBlock + 1];
            for (int j = 0; j < skip.Length; j++)
            {
                skip[j] = skipStack[^1];
                skipStack.RemoveAt(skipStack.Count - 1);
            }
            yield return (i, prev, cout, skip);
            prev = cout;
        }
    }

    /// <summary>Every parameter with its diffusers name and shape.</summary>
    public static List<(string, Shape)> Declare(UNetConfig c)
    {
        var d = new List<(string, Shape)>();
        int levels = c.BlockOutChannels.Length, c0 = c.BlockOutChannels[0], td = c.TimeEmbedDim;
        Conv2d.Declare(d, "conv_in", c.InChannels, c0, 3);
        Linear.Declare(d, "time_embedding.linear_1", c0, td);
        Linear.Declare(d, "time_embedding.linear_2", td, td);
        for (int i = 0; i < levels; i++)
        {
            bool attn = c.DownBlockTypes[i] == "CrossAttnDownBlock2D";
            int cin = i == 0 ? c0 : c.BlockOutChannels[i - 1], cout = c.BlockOutChannels[i];
            for (int j = 0; j < c.LayersPerBlock; j++)
            {
                ResnetBlock2D.Declare(d, $"down_blocks.{i}.resnets.{j}", j == 0 ? cin : cout, cout, td);
                if (attn) Transformer2D.Declare(d, $"down_blocks.{i}.attentions.{j}", cout, c.CrossAttentionDim, c.TransformerLayersPerBlock);
            }
            if (i < levels - 1) Downsample2D.Declare(d, $"down_blocks.{i}.downsamplers.0", cout);
        }
        if (c.MidBlockType is not null)
        {
            int cm = c.BlockOutChannels[^1];
            ResnetBlock2D.Declare(d, "mid_block.resnets.0", cm, cm, td);
            Transformer2D.Declare(d, "mid_block.attentions.0", cm, c.CrossAttentionDim, c.TransformerLayersPerBlock);
            ResnetBlock2D.Declare(d, "mid_block.resnets.1", cm, cm, td);
        }
        foreach (var (i, cin, cout, skip) in UpChannels(c))
        {
            bool attn = c.UpBlockTypes[i] == "CrossAttnUpBlock2D";
            for (int j = 0; j <= c.LayersPerBlock; j++)
            {
                ResnetBlock2D.Declare(d, $"up_blocks.{i}.resnets.{j}", (j == 0 ? cin : cout) + skip[j], cout, td);
                if (attn) Transformer2D.Declare(d, $"up_blocks.{i}.attentions.{j}", cout, c.CrossAttentionDim, c.TransformerLayersPerBlock);
            }
            if (i < levels - 1) Upsample2D.Declare(d, $"up_blocks.{i}.upsamplers.0", cout);
        }
        GroupNorm.Declare(d, "conv_norm_out", c0);
        Conv2d.Declare(d, "conv_out", c0, c.OutChannels, 3);
        return d;
    }

    /// <summary>
    /// The sinusoidal timestep embedding (diffusers get_timestep_embedding): [cos, sin] halves when
    /// flip_sin_to_cos, frequencies exp(-ln(10000)·k/(half - freq_shift)), computed in float32 as diffusers does.
    /// </summary>
    public static void TimestepEmbedding(Span<float> dst, ReadOnlySpan<float> timesteps, int dim, bool flipSinToCos, float freqShift)
    {
        int half = dim / 2;
        dst.Clear();
        for (int b = 0; b < timesteps.Length; b++)
        {
            var row = dst.Slice(b * dim, dim);
            for (int k = 0; k < half; k++)
            {
                float exponent = -MathF.Log(10000f) * k / (half - freqShift);
                float arg = timesteps[b] * MathF.Exp(exponent);
                float s = MathF.Sin(arg), co = MathF.Cos(arg);
                row[k] = flipSinToCos ? co : s;
                row[half + k] = flipSinToCos ? s : co;
            }
        }
    }

    /// <summary>
    /// latents [N, Cin, H, W], one timestep per sample, encoder_hidden_states [N, T, cross_attention_dim] →
    /// ε̂ [N, Cout, H, W] (an activation of <paramref name="w"/>). H and W must be divisible by 2^(levels-1).
    /// </summary>
    public Tensor Forward(Workspace w, Tensor latents, ReadOnlySpan<float> timesteps, Tensor encoderHiddenStates)
    {
        var ops = w.Ops;
        var c = Config;
        int n = latents.Dim(0), factor = 1 << (c.BlockOutChannels.Length - 1);
        if (latents.Rank != 4 || latents.Dim(1) != c.InChannels)
            throw new ArgumentException($"latents {latents.Shape} must be [N, {c.InChannels}, H, W]");
        if (latents.Dim(2) % factor != 0 || latents.Dim(3) % factor != 0)
            throw new ArgumentException($"latents {latents.Shape}: H and W must be divisible by {factor}");
        if (timesteps.Length != n) throw new ArgumentException($"{timesteps.Length} timesteps for a batch of {n}");
        if (encoderHiddenStates.Rank != 3 || encoderHiddenStates.Dim(0) != n || encoderHiddenStates.Dim(2) != c.CrossAttentionDim)
            throw new ArgumentException($"encoder_hidden_states {encoderHiddenStates.Shape} must be [{n}, T, {c.CrossAttentionDim}]");
        _latents = latents;

        // Time embedding: sinusoid on the host (a few hundred numbers), then two Linears.
        int c0 = c.BlockOutChannels[0], td = c.TimeEmbedDim;
        Span<float> host = n * c0 <= 8192 ? stackalloc float[n * c0] : new float[n * c0]; // SD 1.5 at 2B = 16: 5120
        TimestepEmbedding(host, timesteps, c0, c.FlipSinToCos, c.FreqShift);
        _tproj = w.Act(new Shape(n, c0));
        ops.CopyFromHost(_tproj, host);
        _t1 = w.Act(new Shape(n, td));
        _timeLinear1.Forward(ops, _t1, _tproj);
        _t1Silu = w.Act(_t1.Shape);
        ops.SiluForward(_t1Silu, _t1);
        _emb = w.Act(_t1.Shape);
        _timeLinear2.Forward(ops, _emb, _t1Silu);
        _embSilu = w.Act(_emb.Shape);
        ops.SiluForward(_embSilu, _emb);

        _skips.Clear();
        var h = w.Act(_convIn.OutputShape(latents));
        _convIn.Forward(ops, h, latents);
        _skips.Add(h);
        foreach (var level in _down)
        {
            for (int j = 0; j < level.Resnets.Length; j++)
            {
                h = level.Resnets[j].Forward(w, h, _embSilu);
                if (level.Attentions[j] is { } attn) h = attn.Forward(w, h, encoderHiddenStates);
                _skips.Add(h);
            }
            if (level.Down is { } down)
            {
                h = down.Forward(w, h);
                _skips.Add(h);
            }
        }
        if (_midAttention is not null)
        {
            h = _midResnets[0].Forward(w, h, _embSilu);
            h = _midAttention.Forward(w, h, encoderHiddenStates);
            h = _midResnets[1].Forward(w, h, _embSilu);
        }
        int next = _skips.Count;
        foreach (var level in _up)
        {
            for (int j = 0; j < level.Resnets.Length; j++)
            {
                var skip = _skips[--next];
                var cat = w.Act(new Shape(n, h.Dim(1) + skip.Dim(1), h.Dim(2), h.Dim(3)));
                ops.ConcatChannels(cat, h, skip);
                h = level.Resnets[j].Forward(w, cat, _embSilu);
                if (level.Attentions[j] is { } attn) h = attn.Forward(w, h, encoderHiddenStates);
            }
            if (level.Up is { } up) h = up.Forward(w, h);
        }
        _hOut = h;
        (_nOut, _mOut, _rOut) = w.Norm(_convNormOut, h);
        _aOut = w.Act(h.Shape);
        ops.SiluForward(_aOut, _nOut);
        var eps = w.Act(_convOut.OutputShape(_aOut));
        _convOut.Forward(ops, eps, _aOut);
        return eps;
    }

    /// <summary>
    /// Back-propagates dε̂ into the trainable parameters' gradients (accumulated), and optionally into
    /// dlatents and dencoderHiddenStates (both overwritten; None skips them). When neither is wanted and the time
    /// embedding is frozen, the backward stops below the lowest trainable module of the down path: nothing there
    /// has a gradient to receive (a key/value subset leaves the first down level and resnet untouched).
    /// </summary>
    public void Backward(Workspace w, Tensor dEps, Tensor dLatents, Tensor dEncoderHiddenStates)
    {
        var ops = w.Ops;
        if (!dEncoderHiddenStates.IsNone) ops.Fill(dEncoderHiddenStates, 0f);
        // The time embedding's gradient is only worth computing when its weights train.
        bool timeTrains = !_timeLinear1.dWeight.IsNone || !_timeLinear2.dWeight.IsNone;
        var dEmbSilu = timeTrains ? w.ZeroGrad(_embSilu.Shape) : Tensor.None;
        var dSkips = _dSkips;

        var da = w.Grad(_aOut.Shape);
        _convOut.Backward(ops, da, dEps, _aOut);
        var dn = w.Grad(_nOut.Shape);
        ops.SiluBackward(dn, da, _nOut);
        var dh = w.Grad(_hOut.Shape);
        _convNormOut.Backward(ops, dh, dn, _hOut, _mOut, _rOut);

        int next = 0;
        for (int i = _up.Length - 1; i >= 0; i--)
        {
            var level = _up[i];
            if (level.Up is { } up) dh = up.Backward(w, dh);
            for (int j = level.Resnets.Length - 1; j >= 0; j--)
            {
                if (level.Attentions[j] is { } attn) dh = attn.Backward(w, dh, dEncoderHiddenStates);
                var dcat = level.Resnets[j].Backward(w, dh, dEmbSilu);
                // The skip popped here was pushed at index `next` counted from the bottom of the stack.
                var skip = _skips[next];
                int ch = dcat.Dim(1) - skip.Dim(1);
                dh = w.Grad(new Shape(dcat.Dim(0), ch, dcat.Dim(2), dcat.Dim(3)));
                dSkips[next] = w.Grad(skip.Shape);
                ops.SplitChannels(dh, dSkips[next], dcat);
                next++;
            }
        }
        if (_midAttention is not null)
        {
            dh = _midResnets[1].Backward(w, dh, dEmbSilu);
            dh = _midAttention.Backward(w, dh, dEncoderHiddenStates);
            dh = _midResnets[0].Backward(w, dh, dEmbSilu);
        }
        bool whole = !dLatents.IsNone || !dEncoderHiddenStates.IsNone || timeTrains;
        int k = _skips.Count - 1;
        for (int i = _down.Length - 1; i >= 0; i--)
        {
            var level = _down[i];
            if (level.Down is { } down)
            {
                if (!whole && !level.DownTrainsBelow) return;
                ops.Add(dh, dh, dSkips[k--]);
                dh = down.Backward(w, dh);
            }
            for (int j = level.Resnets.Length - 1; j >= 0; j--)
            {
                if (!whole && !level.AttentionTrainsBelow[j]) return;
                ops.Add(dh, dh, dSkips[k--]);
                if (level.Attentions[j] is { } attn) dh = attn.Backward(w, dh, dEncoderHiddenStates);
                if (!whole && !level.ResnetTrainsBelow[j]) return;
                dh = level.Resnets[j].Backward(w, dh, dEmbSilu);
            }
        }
        ops.Add(dh, dh, dSkips[k]);
        _convIn.Backward(ops, dLatents, dh, _latents);

        if (timeTrains)
        {
            var demb = w.Grad(_emb.Shape);
            ops.SiluBackward(demb, dEmbSilu, _emb);
            var dt1s = w.Grad(_t1.Shape);
            _timeLinear2.Backward(ops, dt1s, demb, _t1Silu);
            var dt1 = w.Grad(_t1.Shape);
            ops.SiluBackward(dt1, dt1s, _t1);
            _timeLinear1.Backward(ops, Tensor.None, dt1, _tproj);
        }
    }
}
