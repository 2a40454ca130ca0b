namespace Engine.Models.Text;

/// <summary>The ids of one prompt as the SD pipeline feeds them to the text encoder.</summary>
/// <param name="Ids">exactly max_length ids: BOS, the tokens (truncated), EOS, then padding.</param>
/// <param name="AttentionMask">1 for BOS, the tokens and EOS, 0 for padding.</param>
public sealed record ClipEncoding(int[] Ids, int[] AttentionMask);

/// <summary>
/// Stable Diffusion 1.x's CLIP tokenizer, id for id as transformers' <c>CLIPTokenizer</c> (the Python one,
/// <c>ftfy</c> not installed): special tokens written in the text are split out first, every other stretch is
/// cleaned (<see cref="ClipTextCleaner"/>), split into words (<see cref="ClipWordSplitter"/>) and byte-level BPE
/// encoded (<see cref="BytePairEncoding"/>); BOS and EOS go around the result.
/// </summary>
public sealed class ClipTokenizer
{
    readonly Dictionary<string, int> vocab;
    readonly Dictionary<int, string> idToToken = [];
    readonly BytePairEncoding bpe;
    readonly string[] specialTokens; // split out of the raw text, longest first

    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public int UnkId { get; }
    public string BosToken { get; }
    public string EosToken { get; }

    /// <summary><c>model_max_length</c> of tokenizer_config.json (77 for SD 1.x).</summary>
    public int ModelMaxLength { get; }

    public int VocabSize => vocab.Count;

    internal ClipTokenizer(Dictionary<string, int> vocab, BytePairEncoding bpe, ClipSpecialTokens special, int modelMaxLength)
    {
        this.vocab = vocab;
        this.bpe = bpe;
        foreach (var (token, id) in vocab) idToToken[id] = token; // two tokens on one id: the last wins, as in Python

        BosToken = special.Bos;
        EosToken = special.Eos;
        BosId = vocab[special.Bos];
        EosId = vocab[special.Eos];
        PadId = vocab[special.Pad];
        UnkId = vocab[special.Unk];
        specialTokens = [.. new[] { special.Bos, special.Eos, special.Pad, special.Unk }.Distinct().OrderByDescending(s => s.Length)];
        ModelMaxLength = modelMaxLength;
    }

    /// <summary>Loads vocab.json, merges.txt and (if present) tokenizer_config.json and special_tokens_map.json.</summary>
    public static ClipTokenizer FromDirectory(string directory) => ClipTokenizerFiles.Load(directory);

    /// <summary>The BPE tokens of <paramref name="text"/>, without BOS and EOS (transformers' <c>tokenize</c>).</summary>
    public List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        foreach (var (piece, isSpecial) in SplitSpecialTokens(text))
        {
            if (isSpecial)
            {
                tokens.Add(piece);
                continue;
            }
            foreach (string word in ClipWordSplitter.Split(ClipTextCleaner.Clean(piece)))
                tokens.AddRange(bpe.Encode(BytePairEncoding.ByteEncode(word)));
        }
        return tokens;
    }

    /// <summary>BOS, the ids of every token, EOS: <c>tokenizer(text).input_ids</c>, no truncation or padding.</summary>
    public int[] EncodeUntruncated(string text)
    {
        List<string> tokens = Tokenize(text);
        var ids = new int[tokens.Count + 2];
        ids[0] = BosId;
        for (int i = 0; i < tokens.Count; i++) ids[i + 1] = TokenToId(tokens[i]);
        ids[^1] = EosId;
        return ids;
    }

    /// <summary>The ids of <see cref="Encode"/> for each text, row after row: [texts.Count, length], ready to upload.</summary>
    public int[] EncodeBatch(IReadOnlyList<string> texts, int length)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var ids = new int[texts.Count * length];
        for (int i = 0; i < texts.Count; i++) Encode(texts[i], length).Ids.CopyTo(ids.AsSpan(i * length, length));
        return ids;
    }

    /// <summary>
    /// <c>tokenizer(text, padding="max_length", max_length=maxLength, truncation=True)</c>: BOS, at most
    /// maxLength - 2 tokens, EOS (kept even when the prompt is cut), then the pad id up to maxLength.
    /// maxLength defaults to <see cref="ModelMaxLength"/>.
    /// </summary>
    public ClipEncoding Encode(string text, int? maxLength = null)
    {
        int length = maxLength ?? ModelMaxLength;
        if (length < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), length, "max length must leave room for BOS and EOS (>= 2)");

        int[] full = EncodeUntruncated(text);
        int kept = Math.Min(full.Length - 2, length - 2);
        var ids = new int[length];
        var mask = new int[length];
        Array.Copy(full, 0, ids, 0, kept + 1);   // BOS and the first `kept` tokens
        ids[kept + 1] = EosId;
        Array.Fill(ids, PadId, kept + 2, length - kept - 2);
        Array.Fill(mask, 1, 0, kept + 2);
        return new ClipEncoding(ids, mask);
    }

    public int TokenToId(string token) => vocab.TryGetValue(token, out int id) ? id : UnkId;

    public string IdToToken(int id) =>
        idToToken.TryGetValue(id, out string? t) ? t : throw new ArgumentOutOfRangeException(nameof(id), id, "id not in the vocabulary");

    // transformers' tokens_trie.split: the special tokens written literally in the raw text (before any
    // clean-up, so case-sensitive) become tokens of their own; leftmost match first, longest at a position.
    List<(string Piece, bool IsSpecial)> SplitSpecialTokens(string text)
    {
        var pieces = new List<(string, bool)>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            string? special = null;
            foreach (string s in specialTokens)
            {
                if (text.AsSpan(i).StartsWith(s, StringComparison.Ordinal))
                {
                    special = s;
                    break;
                }
            }
            if (special is null) continue;
            if (i > start) pieces.Add((text[start..i], false));
            pieces.Add((special, true));
            start = i + special.Length;
            i = start - 1;
        }
        if (start < text.Length) pieces.Add((text[start..], false));
        return pieces;
    }
}
