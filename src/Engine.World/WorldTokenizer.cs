using System.Text.Json;
using Engine.Models.Text;

namespace Engine.World;

/// <summary>
/// Writes a CLIP-format tokenizer folder (vocab.json, merges.txt, configs) whose vocabulary is the world's words:
/// the 512 byte symbols CLIP starts with, then merges that build each caption word into one token; any other text
/// still tokenizes (into bytes and pieces). The same <see cref="ClipTokenizer"/> that reads SD's tokenizer reads this one.
/// </summary>
public static class WorldTokenizer
{
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static void Write(string folder, IEnumerable<string> words, int maxLength)
    {
        Directory.CreateDirectory(folder);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string token) => vocab.TryAdd(token, vocab.Count);
        var bytes = BytePairEncoding.ByteSymbolsInTableOrder().Select(c => c.ToString()).ToList();
        foreach (var b in bytes) Add(b);
        foreach (var b in bytes) Add(b + BytePairEncoding.EndOfWord);

        // Merges are applied by rank, so one word's merge can fire inside another ("a n</w>" of "an" inside "cyan").
        // Rather than predict that, tokenize every word with the merges so far and append a merge of its first two
        // symbols until every word is one symbol; later merges never undo earlier ones, so this terminates.
        var merges = new List<(string First, string Second)>();
        var encoded = words.Select(w => BytePairEncoding.ByteEncode(w.ToLowerInvariant())).Distinct(StringComparer.Ordinal).ToList();
        for (bool changed = true; changed;)
        {
            changed = false;
            var bpe = new BytePairEncoding(merges, []);
            foreach (var word in encoded)
            {
                string[] symbols = bpe.Encode(word);
                if (symbols.Length < 2) continue;
                merges.Add((symbols[0], symbols[1]));
                Add(symbols[0] + symbols[1]);
                changed = true;
                bpe = new BytePairEncoding(merges, []);
            }
        }
        Add(ClipWordSplitter.StartOfText);
        Add(ClipWordSplitter.EndOfText);

        File.WriteAllText(Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(folder, "merges.txt"), ["#version: 0.2", .. merges.Select(m => m.First + " " + m.Second)]);
        var config = new Dictionary<string, object>
        {
            ["add_prefix_space"] = false,
            ["bos_token"] = ClipWordSplitter.StartOfText,
            ["eos_token"] = ClipWordSplitter.EndOfText,
            ["pad_token"] = ClipWordSplitter.EndOfText,
            ["unk_token"] = ClipWordSplitter.EndOfText,
            ["do_lower_case"] = true,
            ["model_max_length"] = maxLength,
            ["tokenizer_class"] = "CLIPTokenizer",
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(config, Indented));
        var special = new Dictionary<string, string>
        {
            ["bos_token"] = ClipWordSplitter.StartOfText,
            ["eos_token"] = ClipWordSplitter.EndOfText,
            ["pad_token"] = ClipWordSplitter.EndOfText,
            ["unk_token"] = ClipWordSplitter.EndOfText,
        };
        File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), JsonSerializer.Serialize(special, Indented));
    }

    /// <summary>The vocabulary size <see cref="Write"/> produces for these words.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static int VocabSize(string folder) => JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!.Count;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
