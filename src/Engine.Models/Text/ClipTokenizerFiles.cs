using System.Text.Json;

namespace Engine.Models.Text;

/// <summary>The special token strings: BOS, EOS, padding and unknown (CLIP: EOS = pad = unk).</summary>
internal sealed record ClipSpecialTokens(string Bos, string Eos, string Pad, string Unk);

/// <summary>
/// Reads a Hugging Face CLIP tokenizer folder: vocab.json (token -> id), merges.txt (a <c>#version</c> line,
/// then one "first second" pair per line in rank order), and optionally tokenizer_config.json and
/// special_tokens_map.json. A missing file throws <see cref="FileNotFoundException"/>; a broken one
/// <see cref="InvalidDataException"/>; both name the file.
/// </summary>
internal static class ClipTokenizerFiles
{
    // transformers reads merges.txt lines 1 .. 49152 - 256 - 2 (the size of OpenAI's vocabulary minus the byte
    // symbols and the two special tokens); later lines are ignored.
    const int MaxMerges = 49152 - 256 - 2;

    public static ClipTokenizer Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"tokenizer folder not found: {directory}");

        string vocabPath = Path.Combine(directory, "vocab.json");
        string mergesPath = Path.Combine(directory, "merges.txt");
        Dictionary<string, int> vocab = ReadVocab(vocabPath);
        List<(string, string)> merges = ReadMerges(mergesPath);

        // Later files override earlier ones, as in transformers' from_pretrained.
        var special = new ClipSpecialTokens(ClipWordSplitter.StartOfText, ClipWordSplitter.EndOfText,
                                            ClipWordSplitter.EndOfText, ClipWordSplitter.EndOfText);
        int modelMaxLength = 77;
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            using JsonDocument config = ParseJson(configPath);
            special = ReadSpecialTokens(config.RootElement, special, configPath);
            if (config.RootElement.TryGetProperty("model_max_length", out JsonElement m))
            {
                if (m.ValueKind != JsonValueKind.Number || !m.TryGetInt32(out modelMaxLength) || modelMaxLength < 2)
                    throw new InvalidDataException($"{configPath}: model_max_length must be an integer >= 2, got {m.GetRawText()}");
            }
        }
        string mapPath = Path.Combine(directory, "special_tokens_map.json");
        if (File.Exists(mapPath))
        {
            using JsonDocument map = ParseJson(mapPath);
            special = ReadSpecialTokens(map.RootElement, special, mapPath);
        }

        foreach (string token in new[] { special.Bos, special.Eos, special.Pad, special.Unk })
        {
            if (!vocab.ContainsKey(token))
                throw new InvalidDataException($"{vocabPath}: special token {token} is not in the vocabulary");
        }

        var bpe = new BytePairEncoding(merges, [ClipWordSplitter.StartOfText, ClipWordSplitter.EndOfText]);
        return new ClipTokenizer(vocab, bpe, special, modelMaxLength);
    }

    static Dictionary<string, int> ReadVocab(string path)
    {
        using JsonDocument doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: expected a JSON object token -> id, got {doc.RootElement.ValueKind}");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"{path}: the id of token {p.Name} must be a non-negative integer, got {p.Value.GetRawText()}");
            vocab[p.Name] = id; // a repeated key keeps its last id, as Python's json.load does
        }
        if (vocab.Count == 0) throw new InvalidDataException($"{path}: the vocabulary is empty");
        return vocab;
    }

    static List<(string, string)> ReadMerges(string path)
    {
        string text = ReadText(path).Trim();
        string[] lines = text.Split('\n');
        if (!lines[0].StartsWith("#version", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: the first line must be the '#version' header, got '{Shorten(lines[0])}'");

        var merges = new List<(string, string)>(Math.Min(lines.Length, MaxMerges + 1));
        for (int i = 1; i < lines.Length && i <= MaxMerges; i++)
        {
            string[] pair = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (pair.Length != 2)
                throw new InvalidDataException($"{path} line {i + 1}: expected two space-separated symbols, got '{Shorten(lines[i])}'");
            merges.Add((pair[0], pair[1]));
        }
        return merges;
    }

    static ClipSpecialTokens ReadSpecialTokens(JsonElement root, ClipSpecialTokens current, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: expected a JSON object, got {root.ValueKind}");
        return new ClipSpecialTokens(
            TokenString(root, "bos_token", current.Bos, path),
            TokenString(root, "eos_token", current.Eos, path),
            TokenString(root, "pad_token", current.Pad, path),
            TokenString(root, "unk_token", current.Unk, path));
    }

    // A special token is written either as a string or as an AddedToken object {"content": ..., ...}.
    static string TokenString(JsonElement root, string key, string fallback, string path)
    {
        if (!root.TryGetProperty(key, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind == JsonValueKind.String) return v.GetString()!;
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String)
            return c.GetString()!;
        throw new InvalidDataException($"{path}: {key} must be a string or an object with \"content\", got {v.GetRawText()}");
    }

    static JsonDocument ParseJson(string path)
    {
        string text = ReadText(path);
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    static string ReadText(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        return File.ReadAllText(path);
    }

    static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
