using System.Text.Json;
using Engine.Models.Text;

namespace Engine.World;

/// <summary>
/// Writes a CLIP-format tokenizer folder (vocab.json, merges.txt, configs) whose vocabulary is the world's words:
/// the 512 byte symbols CLIP starts with, then, per word, a chain of merges that builds it from the left
/// ("s t", "st a", "sta r&lt;/w&gt;"), so every caption word is one token, and any other text still tokenizes
/// (into bytes). The same <see cref="ClipTokenizer"/> that reads SD's tokenizer reads this one.
/// </summary>
public static class WorldTokenizer
{
    public static void Write(string folder, IEnumerable<string> words, int maxLength)
    {
        Directory.CreateDirectory(folder);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string token) => vocab.TryAdd(token, vocab.Count);
        var bytes = BytePairEncoding.ByteSymbolsInTableOrder().Select(c => c.ToString()).ToList();
        foreach (var b in bytes) Add(b);
        foreach (var b in bytes) Add(b + BytePairEncoding.EndOfWord);

        var merges = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in words)
        {
            string encoded = BytePairEncoding.ByteEncode(word.ToLowerInvariant());
            string prefix = encoded[..1];
            for (int i = 1; i < encoded.Length; i++)
            {
                string next = encoded[i].ToString() + (i == encoded.Length - 1 ? BytePairEncoding.EndOfWord : "");
                if (seen.Add(prefix + " " + next)) merges.Add(prefix + " " + next);
                prefix += next;
                Add(prefix);
            }
        }
        Add(ClipWordSplitter.StartOfText);
        Add(ClipWordSplitter.EndOfText);

        File.WriteAllText(Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(folder, "merges.txt"), ["#version: 0.2", .. merges]);
        var config = new Dictionary<string, object>
        {
            ["add_prefix_space"] = false, ["bos_token"] = ClipWordSplitter.StartOfText, ["eos_token"] = ClipWordSplitter.EndOfText,
            ["pad_token"] = ClipWordSplitter.EndOfText, ["unk_token"] = ClipWordSplitter.EndOfText, ["do_lower_case"] = true,
            ["model_max_length"] = maxLength, ["tokenizer_class"] = "CLIPTokenizer",
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(config, Indented));
        var special = new Dictionary<string, string>
        {
            ["bos_token"] = ClipWordSplitter.StartOfText, ["eos_token"] = ClipWordSplitter.EndOfText,
            ["pad_token"] = ClipWordSplitter.EndOfText, ["unk_token"] = ClipWordSplitter.EndOfText,
        };
        File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), JsonSerializer.Serialize(special, Indented));
    }

    /// <summary>The vocabulary size <see cref="Write"/> produces for these words.</summary>
    public static int VocabSize(string folder) => JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!.Count;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
