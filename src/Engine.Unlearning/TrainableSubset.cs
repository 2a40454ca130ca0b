namespace Engine.Unlearning;

/// <summary>Which UNet parameters train (doco-spec §1 "Trainable UNet subset", §5.1, §5.2).</summary>
public enum TrainableSubset
{
    /// <summary>Only attn2.to_k and attn2.to_v weights: the official `cross-attn` group (the default).</summary>
    KeyValue,
    /// <summary>Every attention parameter, self and cross (CUIG's / CA's `attn`: to_q, to_k, to_v, to_out).</summary>
    Attention,
    /// <summary>Every UNet parameter (`full-weight`).</summary>
    Full,
    /// <summary>ESD-x: all cross-attention (attn2) parameters.</summary>
    EsdX,
    /// <summary>ESD-u: everything except attn2, the output layers (conv_norm_out, conv_out) and the time embedding.</summary>
    EsdU,
}

public static class TrainableSubsets
{
    /// <summary>The predicate over diffusers UNet parameter names.</summary>
    public static Func<string, bool> Predicate(TrainableSubset subset) => subset switch
    {
        TrainableSubset.KeyValue => n => n.EndsWith(".attn2.to_k.weight", StringComparison.Ordinal) || n.EndsWith(".attn2.to_v.weight", StringComparison.Ordinal),
        TrainableSubset.Attention => n => n.Contains(".attn1.", StringComparison.Ordinal) || n.Contains(".attn2.", StringComparison.Ordinal),
        TrainableSubset.Full => _ => true,
        TrainableSubset.EsdX => n => n.Contains(".attn2.", StringComparison.Ordinal),
        // CompVis `noxattn` excludes 'attn2', names starting 'out.' and 'time_embed'; in diffusers names those are
        // conv_norm_out/conv_out and time_embedding.
        TrainableSubset.EsdU => n => !n.Contains(".attn2.", StringComparison.Ordinal) && !n.StartsWith("conv_norm_out", StringComparison.Ordinal)
            && !n.StartsWith("conv_out", StringComparison.Ordinal) && !n.StartsWith("time_embedding", StringComparison.Ordinal),
        _ => throw new ArgumentOutOfRangeException(nameof(subset), subset, "unknown trainable subset"),
    };

    /// <summary>Parses kv | attention | full | esd-x | esd-u.</summary>
    public static TrainableSubset Parse(string text) => text switch
    {
        "kv" => TrainableSubset.KeyValue,
        "attention" => TrainableSubset.Attention,
        "full" => TrainableSubset.Full,
        "esd-x" => TrainableSubset.EsdX,
        "esd-u" => TrainableSubset.EsdU,
        _ => throw new ArgumentException($"--train '{text}' is not one of kv, attention, full, esd-x, esd-u"),
    };

    public static string Name(TrainableSubset subset) => subset switch
    {
        TrainableSubset.KeyValue => "kv",
        TrainableSubset.Attention => "attention",
        TrainableSubset.Full => "full",
        TrainableSubset.EsdX => "esd-x",
        TrainableSubset.EsdU => "esd-u",
        _ => subset.ToString(),
    };
}
