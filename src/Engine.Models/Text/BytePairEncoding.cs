using System.Collections.Concurrent;
using System.Text;

namespace Engine.Models.Text;

/// <summary>
/// Byte-level BPE as GPT-2 and CLIP use it (transformers' <c>CLIPTokenizer.bpe</c>): a word's UTF-8 bytes are
/// mapped to printable characters (<see cref="ByteToChar"/>), <c>&lt;/w&gt;</c> is appended to the last
/// one, and the adjacent pair with the lowest merge rank is merged until no adjacent pair has a rank.
/// </summary>
public sealed class BytePairEncoding
{
    /// <summary>Appended to the last symbol of every word: "cat" and the "cat" inside "category" are different tokens.</summary>
    public const string EndOfWord = "</w>";

    /// <summary>
    /// GPT-2's <c>bytes_to_unicode</c>: the 188 printable Latin-1 bytes (0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF) stand for
    /// themselves; the other 68 bytes (controls, space, 0x7F-0xA0, soft hyphen) become U+0100, U+0101, ... in byte
    /// order, so that no BPE symbol is whitespace or a control character.
    /// </summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The 256 byte symbols in the order of the table (vocabulary ids 0-255 of CLIP).</summary>
    public static IEnumerable<char> ByteSymbolsInTableOrder()
    {
        for (int b = 0; b < 256; b++) if (IsPrintableByte(b)) yield return (char)b;
        for (int b = 0; b < 256; b++) if (!IsPrintableByte(b)) yield return ByteToChar[b];
    }

    readonly Dictionary<(string First, string Second), int> ranks;

    // word (already byte-mapped, without </w>) -> its symbols; transformers keeps the same cache.
    readonly ConcurrentDictionary<string, string[]> cache = new(StringComparer.Ordinal);

    /// <param name="merges">the merges in rank order (index = rank); a repeated pair keeps its last rank, as
    /// transformers' <c>dict(zip(merges, range(n)))</c> does.</param>
    /// <param name="verbatimWords">words returned whole, without <c>&lt;/w&gt;</c> and without merging
    /// (transformers seeds its cache with <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>).</param>
    public BytePairEncoding(IReadOnlyList<(string First, string Second)> merges, IEnumerable<string> verbatimWords)
    {
        ranks = new Dictionary<(string, string), int>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++) ranks[merges[rank]] = rank;
        foreach (string w in verbatimWords) cache[w] = [w];
    }

    public int MergeCount => ranks.Count;

    /// <summary>Maps the UTF-8 bytes of <paramref name="word"/> through <see cref="ByteToChar"/>.</summary>
    public static string ByteEncode(string word)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(word);
        var chars = new char[utf8.Length];
        for (int i = 0; i < utf8.Length; i++) chars[i] = ByteToChar[utf8[i]];
        return new string(chars);
    }

    /// <summary>The BPE symbols of one byte-mapped word (see <see cref="ByteEncode"/>); the last ends in <c>&lt;/w&gt;</c>.</summary>
    public string[] Encode(string byteWord)
    {
        ArgumentException.ThrowIfNullOrEmpty(byteWord);
        if (cache.TryGetValue(byteWord, out string[]? done)) return done;

        // One symbol per byte character; the end-of-word marker sticks to the last one.
        var word = new List<string>(byteWord.Length);
        for (int i = 0; i < byteWord.Length - 1; i++) word.Add(byteWord[i].ToString());
        word.Add(byteWord[^1] + EndOfWord);

        var merged = new List<string>(word.Count);
        while (word.Count > 1)
        {
            // The adjacent pair with the lowest rank; pairs without a rank never merge.
            int bestRank = int.MaxValue;
            (string, string) best = default;
            for (int i = 0; i + 1 < word.Count; i++)
            {
                if (ranks.TryGetValue((word[i], word[i + 1]), out int r) && r < bestRank)
                {
                    bestRank = r;
                    best = (word[i], word[i + 1]);
                }
            }
            if (bestRank == int.MaxValue) break;

            // Merge every occurrence of that pair, left to right, without overlap ("a a a" -> "aa a").
            merged.Clear();
            for (int i = 0; i < word.Count;)
            {
                if (i + 1 < word.Count && word[i] == best.Item1 && word[i + 1] == best.Item2)
                {
                    merged.Add(best.Item1 + best.Item2);
                    i += 2;
                }
                else
                {
                    merged.Add(word[i]);
                    i += 1;
                }
            }
            (word, merged) = (merged, word);
        }

        string[] symbols = [.. word];
        cache.TryAdd(byteWord, symbols);
        return symbols;
    }

    static bool IsPrintableByte(int b) => (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) table[b] = IsPrintableByte(b) ? (char)b : (char)next++;
        return table;
    }
}
