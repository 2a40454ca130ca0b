using Engine.Memory;
using Engine.Models.Clip;
using Engine.Models.Text;
using Engine.Ops;
using Engine.Rng;
using Engine.Tensors;
using Engine.Unlearning.Data;

namespace Engine.Unlearning;

/// <summary>
/// Everything a run reads besides the UNet: the anchor images (x0 as the UNet sees them: latents for a latent model, so
/// no VAE encoder is needed) and the frozen text encoder's states of every prompt, encoded once up front. Image i was
/// sampled from anchor prompt <c>PromptOfImage[i]</c>; its target prompt is the target prompt of that same caption.
/// </summary>
public sealed class ErasureInputs
{
    /// <summary>[Count, Channels, Height, Width].</summary>
    public required float[] Images { get; init; }
    public required int Count { get; init; }
    public required int Channels { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }

    /// <summary>Token length L and width D of one prompt's text states.</summary>
    public required int Length { get; init; }
    public required int Dim { get; init; }

    /// <summary>[P, L, D]: p_a, the anchor captions.</summary>
    public required float[] AnchorText { get; init; }

    /// <summary>[P, L, D]: p*, the target prompt built from each anchor caption.</summary>
    public required float[] TargetText { get; init; }

    /// <summary>[L, D]: the empty prompt ∅ (ESD).</summary>
    public required float[] EmptyText { get; init; }

    /// <summary>[L, D]: the concept prompt c itself (ESD trains and samples on it).</summary>
    public required float[] ConceptText { get; init; }

    public required int[] PromptOfImage { get; init; }

    public int ImageSize => Channels * Height * Width;
    public int TextSize => Length * Dim;
    public int PromptCount => AnchorText.Length / TextSize;

    /// <summary>
    /// Standard-normal images and text states (Philox, streams seed .. seed + 4), image i paired with prompt i mod
    /// <paramref name="prompts"/>: inputs for benchmarks and tests, where the trainer need not know where they came from.
    /// </summary>
    public static ErasureInputs Random(int images, int channels, int size, int prompts, int length, int dim, ulong seed)
    {
        static float[] Normal(long n, ulong seed)
        {
            var a = new float[n];
            Philox.FillNormal(a, seed, 0);
            return a;
        }
        int ts = length * dim;
        return new ErasureInputs
        {
            Images = Normal((long)images * channels * size * size, seed),
            Count = images,
            Channels = channels,
            Height = size,
            Width = size,
            Length = length,
            Dim = dim,
            AnchorText = Normal((long)prompts * ts, seed + 1),
            TargetText = Normal((long)prompts * ts, seed + 2),
            EmptyText = Normal(ts, seed + 3),
            ConceptText = Normal(ts, seed + 4),
            PromptOfImage = [.. Enumerable.Range(0, images).Select(i => i % prompts)],
        };
    }

    /// <summary>Encodes the prompts with the frozen text encoder and pairs them with the anchor images.</summary>
    public static ErasureInputs Encode(IOps ops, ClipTokenizer tokenizer, ClipTextModel textEncoder, IReadOnlyList<string> anchorPrompts,
        IReadOnlyList<string> targetPrompts, string concept, AnchorImages images)
    {
        ArgumentNullException.ThrowIfNull(anchorPrompts);
        ArgumentNullException.ThrowIfNull(targetPrompts);
        ArgumentNullException.ThrowIfNull(images);
        if (anchorPrompts.Count != targetPrompts.Count)
            throw new ArgumentException($"{anchorPrompts.Count} anchor prompts but {targetPrompts.Count} target prompts");
        int p = anchorPrompts.Count;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < p; i++) index.TryAdd(anchorPrompts[i], i);
        var promptOf = new int[images.Count];
        for (int i = 0; i < images.Count; i++)
            promptOf[i] = index.TryGetValue(images.Prompts[i], out int k) ? k : throw new ArgumentException($"anchor image {i} has prompt '{images.Prompts[i]}', which is not an anchor prompt");
        int len = textEncoder.Config.MaxPositionEmbeddings, dim = textEncoder.Config.HiddenSize;
        var all = EncodeAll(ops, tokenizer, textEncoder, [.. anchorPrompts, .. targetPrompts, "", concept]);
        int ts = len * dim;
        return new ErasureInputs
        {
            Images = images.X0,
            Count = images.Count,
            Channels = images.Channels,
            Height = images.Height,
            Width = images.Width,
            Length = len,
            Dim = dim,
            AnchorText = all[..(p * ts)],
            TargetText = all[(p * ts)..(2 * p * ts)],
            EmptyText = all[(2 * p * ts)..((2 * p + 1) * ts)],
            ConceptText = all[((2 * p + 1) * ts)..],
            PromptOfImage = promptOf,
        };
    }

    /// <summary>Last hidden states [n, L, D] of the prompts, in chunks of 16 so the activations stay small.</summary>
    public static float[] EncodeAll(IOps ops, ClipTokenizer tokenizer, ClipTextModel textEncoder, IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(textEncoder);
        int len = textEncoder.Config.MaxPositionEmbeddings, dim = textEncoder.Config.HiddenSize;
        var result = new float[(long)prompts.Count * len * dim];
        const int Chunk = 16;
        for (int start = 0; start < prompts.Count; start += Chunk)
        {
            int n = Math.Min(Chunk, prompts.Count - start);
            using var arena = ops.CreateArena();
            var ids = arena.Upload(tokenizer.EncodeBatch([.. prompts.Skip(start).Take(n)], len), new Shape(n, len));
            var acts = textEncoder.Activations(arena, n, len);
            var h = textEncoder.Forward(ops, acts, ids);
            ops.CopyToHost(result.AsSpan(start * len * dim, n * len * dim), h);
        }
        return result;
    }
}
