using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Clip;

/// <summary>
/// transformers' CLIPTextModel: token + position embeddings, pre-LN encoder layers with causal multi-head
/// attention and a quick-GELU MLP, final LayerNorm. Output: last_hidden_state [B, L, H], which SD 1.x feeds
/// to the UNet's cross-attention. Parameter names are the checkpoint keys (text_model.*).
/// </summary>
public sealed class ClipTextModel
{
    public const string Prefix = "text_model.";

    public ClipTextConfig Config { get; }

    public ParameterStore Parameters { get; }

    private readonly Tensor _tokenEmbedding, _dTokenEmbedding, _positionEmbedding, _dPositionEmbedding;
    private readonly EncoderLayer[] _layers;
    private readonly LayerNorm _finalNorm;

    public ClipTextModel(ClipTextConfig config, ITensorAllocator allocator, Func<string, bool>? isTrainable = null)
    {
        Config = config;
        Parameters = new ParameterStore(new ParameterLayout(Declare(config), isTrainable ?? (_ => false)), allocator);
        var p = Parameters;
        _tokenEmbedding = p.Weight(Prefix + "embeddings.token_embedding.weight");
        _dTokenEmbedding = p.Grad(Prefix + "embeddings.token_embedding.weight");
        _positionEmbedding = p.Weight(Prefix + "embeddings.position_embedding.weight");
        _dPositionEmbedding = p.Grad(Prefix + "embeddings.position_embedding.weight");
        _layers = new EncoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++) _layers[i] = new EncoderLayer(p, $"{Prefix}encoder.layers.{i}.", config);
        _finalNorm = new LayerNorm(p, Prefix + "final_layer_norm", config.LayerNormEps);
    }

    /// <summary>Every parameter of the model, with its checkpoint name and shape, in checkpoint order.</summary>
    public static List<(string, Shape)> Declare(ClipTextConfig c)
    {
        var d = new List<(string, Shape)>
        {
            (Prefix + "embeddings.token_embedding.weight", new Shape(c.VocabSize, c.HiddenSize)),
            (Prefix + "embeddings.position_embedding.weight", new Shape(c.MaxPositionEmbeddings, c.HiddenSize)),
        };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string l = $"{Prefix}encoder.layers.{i}.";
            Linear.Declare(d, l + "self_attn.k_proj", c.HiddenSize, c.HiddenSize);
            Linear.Declare(d, l + "self_attn.v_proj", c.HiddenSize, c.HiddenSize);
            Linear.Declare(d, l + "self_attn.q_proj", c.HiddenSize, c.HiddenSize);
            Linear.Declare(d, l + "self_attn.out_proj", c.HiddenSize, c.HiddenSize);
            LayerNorm.Declare(d, l + "layer_norm1", c.HiddenSize);
            Linear.Declare(d, l + "mlp.fc1", c.HiddenSize, c.IntermediateSize);
            Linear.Declare(d, l + "mlp.fc2", c.IntermediateSize, c.HiddenSize);
            LayerNorm.Declare(d, l + "layer_norm2", c.HiddenSize);
        }
        LayerNorm.Declare(d, Prefix + "final_layer_norm", c.HiddenSize);
        return d;
    }

    /// <summary>Buffers for one batch shape, allocated once and reused by every step of that shape.</summary>
    public ClipActivations Activations(ITensorAllocator allocator, int batch, int length)
    {
        if (length > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {length} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}");
        return new ClipActivations(allocator, Config, batch, length);
    }

    /// <summary>ids [B, L] (I32) → a.LastHiddenState [B, L, H]; keeps what the backward needs in <paramref name="a"/>.</summary>
    public Tensor Forward(IOps ops, ClipActivations a, Tensor ids)
    {
        Check.Shape(ids, new Shape(a.B, a.L), "input_ids");
        int rows = a.B * a.L, h = Config.HiddenSize;
        var x = a.Residual[0];
        ops.EmbeddingForward(x, ids.View(rows), _tokenEmbedding);
        // Position ids are always 0..L-1: broadcast the first L rows over the batch.
        ops.AddRowBias(x.View(a.B, a.L * h), _positionEmbedding.Slice(0, a.L * h));
        for (int i = 0; i < _layers.Length; i++) _layers[i].Forward(ops, a, i);
        _finalNorm.Forward(ops, a.LastHiddenState.View(rows, h), a.FinalMean, a.FinalRstd, a.Residual[^1]);
        return a.LastHiddenState;
    }

    /// <summary>
    /// Back-propagates dLastHiddenState [B, L, H] into the trainable parameters' gradients (accumulated).
    /// The embedding gradients are only computed when those tensors are trainable.
    /// </summary>
    public void Backward(IOps ops, ClipActivations a, Tensor ids, Tensor dLastHiddenState)
    {
        int rows = a.B * a.L, h = Config.HiddenSize;
        Check.Shape(dLastHiddenState, new Shape(a.B, a.L, h), "dLastHiddenState");
        var dres = a.DResidual;
        _finalNorm.Backward(ops, dres, dLastHiddenState.View(rows, h), a.Residual[^1], a.FinalMean, a.FinalRstd);
        for (int i = _layers.Length - 1; i >= 0; i--) _layers[i].Backward(ops, a, i);
        if (!_dTokenEmbedding.IsNone) ops.EmbeddingBackward(_dTokenEmbedding, dres, ids.View(rows));
        if (!_dPositionEmbedding.IsNone)
            ops.AddRowBiasBackward(_dPositionEmbedding.Slice(0, a.L * h), dres.View(a.B, a.L * h));
    }

    /// <summary>One pre-LN transformer layer: x += out_proj(attn(ln1(x))); x += fc2(act(fc1(ln2(x)))).</summary>
    private sealed class EncoderLayer(ParameterStore p, string name, ClipTextConfig c)
    {
        private readonly LayerNorm _ln1 = new(p, name + "layer_norm1", c.LayerNormEps);
        private readonly LayerNorm _ln2 = new(p, name + "layer_norm2", c.LayerNormEps);
        private readonly Linear _q = new(p, name + "self_attn.q_proj");
        private readonly Linear _k = new(p, name + "self_attn.k_proj");
        private readonly Linear _v = new(p, name + "self_attn.v_proj");
        private readonly Linear _out = new(p, name + "self_attn.out_proj");
        private readonly Linear _fc1 = new(p, name + "mlp.fc1");
        private readonly Linear _fc2 = new(p, name + "mlp.fc2");
        private readonly bool _quickGelu = c.HiddenAct == "quick_gelu";

        public void Forward(IOps ops, ClipActivations a, int i)
        {
            var s = a.Layers[i];
            var x = a.Residual[i];
            _ln1.Forward(ops, s.Ln1, s.Ln1Mean, s.Ln1Rstd, x);
            _q.Forward(ops, s.Q, s.Ln1);
            _k.Forward(ops, s.K, s.Ln1);
            _v.Forward(ops, s.V, s.Ln1);
            ops.AttentionForward(s.Attn, s.Lse, s.Q, s.K, s.V, a.AttentionSpec);
            _out.Forward(ops, s.Mid, s.Attn);
            ops.Add(s.Mid, s.Mid, x);
            _ln2.Forward(ops, s.Ln2, s.Ln2Mean, s.Ln2Rstd, s.Mid);
            _fc1.Forward(ops, s.Fc1, s.Ln2);
            if (_quickGelu) ops.QuickGeluForward(s.Act, s.Fc1); else ops.GeluForward(s.Act, s.Fc1);
            var y = a.Residual[i + 1];
            _fc2.Forward(ops, y, s.Act);
            ops.Add(y, y, s.Mid);
        }

        /// <summary>On entry a.DResidual holds d(layer output); on exit d(layer input).</summary>
        public void Backward(IOps ops, ClipActivations a, int i)
        {
            var s = a.Layers[i];
            var dres = a.DResidual;
            // MLP branch; the residual passes dres through unchanged.
            _fc2.Backward(ops, a.DHidden, dres, s.Act);
            if (_quickGelu) ops.QuickGeluBackward(a.DHidden2, a.DHidden, s.Fc1); else ops.GeluBackward(a.DHidden2, a.DHidden, s.Fc1);
            _fc1.Backward(ops, a.DLn, a.DHidden2, s.Ln2);
            _ln2.Backward(ops, a.DTmp, a.DLn, s.Mid, s.Ln2Mean, s.Ln2Rstd);
            ops.Add(dres, dres, a.DTmp);
            // Attention branch: q, k and v all read ln1, so their input gradients add up.
            _out.Backward(ops, a.DAttn, dres, s.Attn);
            ops.AttentionBackward(a.DQ, a.DK, a.DV, a.DAttn, s.Q, s.K, s.V, s.Attn, s.Lse, a.AttentionSpec);
            _q.Backward(ops, a.DLn, a.DQ, s.Ln1);
            _k.Backward(ops, a.DTmp, a.DK, s.Ln1);
            ops.Add(a.DLn, a.DLn, a.DTmp);
            _v.Backward(ops, a.DTmp, a.DV, s.Ln1);
            ops.Add(a.DLn, a.DLn, a.DTmp);
            _ln1.Backward(ops, a.DTmp, a.DLn, a.Residual[i], s.Ln1Mean, s.Ln1Rstd);
            ops.Add(dres, dres, a.DTmp);
        }
    }
}

/// <summary>Saved activations and backward scratch of <see cref="ClipTextModel"/> for one (B, L).</summary>
public sealed class ClipActivations
{
    public readonly int B, L;
    public readonly AttentionSpec AttentionSpec;

    /// <summary>Residual stream: [0] after the embeddings, [i+1] after layer i.</summary>
    public readonly Tensor[] Residual;
    public readonly LayerBuffers[] Layers;
    public readonly Tensor LastHiddenState, FinalMean, FinalRstd;
    public readonly Tensor DResidual, DTmp, DLn, DAttn, DQ, DK, DV, DHidden, DHidden2;

    public sealed class LayerBuffers
    {
        public required Tensor Ln1, Ln1Mean, Ln1Rstd, Q, K, V, Attn, Lse, Mid, Ln2, Ln2Mean, Ln2Rstd, Fc1, Act;
    }

    internal ClipActivations(ITensorAllocator m, ClipTextConfig c, int batch, int length)
    {
        B = batch;
        L = length;
        int rows = batch * length, h = c.HiddenSize, inter = c.IntermediateSize;
        AttentionSpec = new AttentionSpec(batch, length, length, c.NumAttentionHeads, c.HeadDim, Causal: true);
        Tensor Rows(int width) => m.Alloc(new Shape(rows, width));
        Residual = new Tensor[c.NumHiddenLayers + 1];
        for (int i = 0; i < Residual.Length; i++) Residual[i] = Rows(h);
        Layers = new LayerBuffers[c.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++)
        {
            Layers[i] = new LayerBuffers
            {
                Ln1 = Rows(h),
                Ln1Mean = m.Alloc(new Shape(rows)),
                Ln1Rstd = m.Alloc(new Shape(rows)),
                Q = Rows(h),
                K = Rows(h),
                V = Rows(h),
                Attn = Rows(h),
                Lse = m.Alloc(AttentionSpec.LseShape),
                Mid = Rows(h),
                Ln2 = Rows(h),
                Ln2Mean = m.Alloc(new Shape(rows)),
                Ln2Rstd = m.Alloc(new Shape(rows)),
                Fc1 = Rows(inter),
                Act = Rows(inter),
            };
        }
        LastHiddenState = m.Alloc(new Shape(batch, length, h));
        FinalMean = m.Alloc(new Shape(rows));
        FinalRstd = m.Alloc(new Shape(rows));
        DResidual = Rows(h);
        DTmp = Rows(h);
        DLn = Rows(h);
        DAttn = Rows(h);
        DQ = Rows(h);
        DK = Rows(h);
        DV = Rows(h);
        DHidden = Rows(inter);
        DHidden2 = Rows(inter);
    }
}
