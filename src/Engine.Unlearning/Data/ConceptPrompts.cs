using System.Text;
using System.Text.RegularExpressions;
using Engine.Models.Text;

namespace Engine.Unlearning.Data;

/// <summary>How DoCo builds target prompts from anchor prompts (doco-spec §1, "Target prompts").</summary>
public enum ConceptType
{
    /// <summary>An object (or nudity-as-object): the anchor word is replaced by the target word.</summary>
    Object,
    /// <summary>A style: the style phrase is put before or after the anchor caption.</summary>
    Style,
}

/// <summary>
/// Anchor prompts p_a and the target prompts p* built from them (doco-spec §1 "Anchor prompts", "Target prompts"; §7.11).
/// The official code gets its anchor captions online (LAION kNN retrieval for styles, gpt-3.5 for objects), which we
/// cannot do; §7.11 recommends a fixed local caption list containing the anchor word instead. The spec does not list
/// such captions, so the built-in templates below are ours (not verbatim from any upstream file): short, varied
/// captions with "{0}" standing for the anchor word. A user file (one prompt per line) replaces them.
/// </summary>
public sealed class ConceptPrompts
{
    /// <summary>Object captions; every one contains the anchor word once, so the target replacement always applies.</summary>
    public static readonly IReadOnlyList<string> ObjectTemplates =
    [
        "a photo of a {0}",
        "a close-up photo of a {0}",
        "a {0} in the sky",
        "a large {0} on a sunny day",
        "a small {0} in the distance",
        "a black and white photo of a {0}",
        "a {0} at sunset",
        "a blurry photo of a {0}",
        "a {0} above the clouds",
        "a vintage photograph of a {0}",
        "a colorful {0} over the sea",
        "a {0} seen from below",
        "a {0} over a city",
        "a bright photo of the {0}",
        "a {0} flying over mountains",
        "a picture of a {0} in the morning",
    ];

    /// <summary>Style captions (anchor word usually "painting"), in the spirit of CA's LAION "painting" list (§1, §7.11).</summary>
    public static readonly IReadOnlyList<string> StyleTemplates =
    [
        "a {0} of a house by a river",
        "a {0} of a woman in a garden",
        "a {0} of a harbor with boats",
        "a {0} of a starry night over a village",
        "a {0} of a bowl of fruit",
        "a {0} of an old man with a hat",
        "a {0} of a wheat field under a blue sky",
        "a {0} of a city street in the rain",
        "a {0} of mountains and a lake",
        "a {0} of flowers in a vase",
        "a {0} of a bridge at dusk",
        "a {0} of a cafe terrace at night",
        "a {0} of a forest path in autumn",
        "a {0} of a girl reading a book",
        "a {0} of sailboats on the sea",
        "a {0} of a cat sleeping on a chair",
    ];

    public ConceptType Type { get; }
    /// <summary>c_a, the anchor concept word (e.g. "airplane", "painting").</summary>
    public string Anchor { get; }
    /// <summary>c*, the concept to erase (e.g. "parachute", "van gogh").</summary>
    public string Target { get; }
    /// <summary>The anchor prompts p_a.</summary>
    public IReadOnlyList<string> AnchorPrompts { get; }

    /// <summary>Validates the concepts and (for objects) that every prompt contains the anchor word as a whole word.</summary>
    public ConceptPrompts(ConceptType type, string anchor, string target, IReadOnlyList<string> anchorPrompts)
    {
        ArgumentNullException.ThrowIfNull(anchorPrompts);
        if (string.IsNullOrWhiteSpace(anchor)) throw new ArgumentException("the anchor concept is empty", nameof(anchor));
        if (string.IsNullOrWhiteSpace(target)) throw new ArgumentException("the target concept is empty", nameof(target));
        anchor = anchor.Trim();
        target = target.Trim();
        if (string.Equals(anchor, target, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"the anchor concept '{anchor}' equals the target concept '{target}': nothing to erase", nameof(target));
        if (anchorPrompts.Count == 0) throw new ArgumentException("no anchor prompts", nameof(anchorPrompts));
        if (type == ConceptType.Object)
        {
            var word = WordRegex(anchor);
            foreach (var p in anchorPrompts)
                if (!word.IsMatch(p))
                    throw new ArgumentException($"anchor prompt '{p}' does not contain the anchor word '{anchor}', so no target prompt can be made from it", nameof(anchorPrompts));
        }
        Type = type;
        Anchor = anchor;
        Target = target;
        AnchorPrompts = anchorPrompts;
    }

    /// <summary>The built-in templates of <paramref name="type"/> filled with the anchor word.</summary>
    public static ConceptPrompts BuiltIn(ConceptType type, string anchor, string target)
    {
        var templates = type == ConceptType.Object ? ObjectTemplates : StyleTemplates;
        string a = (anchor ?? "").Trim();
        return new ConceptPrompts(type, anchor!, target, templates.Select(t => string.Format(System.Globalization.CultureInfo.InvariantCulture, t, a)).ToArray());
    }

    /// <summary>Anchor prompts from a file, one per line; blank lines and lines starting with '#' are skipped.</summary>
    public static ConceptPrompts FromFile(ConceptType type, string anchor, string target, string path, ClipTokenizer? tokenizer = null)
        => new(type, anchor, target, LoadFile(path, tokenizer));

    /// <summary>
    /// Reads one prompt per line (trimmed). With a tokenizer, a prompt longer than its model_max_length (BOS and EOS
    /// included) is an error naming the file and line, since the text encoder would silently truncate it.
    /// </summary>
    public static IReadOnlyList<string> LoadFile(string path, ClipTokenizer? tokenizer = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"prompt file not found: {path}", path);
        var prompts = new List<string>();
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (tokenizer is not null)
            {
                int n = tokenizer.EncodeUntruncated(line).Length;
                if (n > tokenizer.ModelMaxLength)
                    throw new ArgumentException($"{path}:{i + 1}: prompt has {n} tokens, more than the tokenizer's {tokenizer.ModelMaxLength}");
            }
            prompts.Add(line);
        }
        if (prompts.Count == 0) throw new ArgumentException($"{path}: no prompts (the file is empty or holds only blank lines and # comments)");
        return prompts;
    }

    /// <summary>
    /// The target prompt for one anchor prompt. Object: every whole-word occurrence of the anchor word is replaced by
    /// the target (the official code does a plain case-sensitive replace; we match case-insensitively on word boundaries
    /// and carry the match's capitalization over). Style: with probability 1/3 "caption, in the style of target",
    /// otherwise "in target's style, caption" (§1); <paramref name="rng"/> draws that choice (ignored for objects).
    /// </summary>
    public string TargetPrompt(string anchorPrompt, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return Type == ConceptType.Object
            ? ReplaceWord(anchorPrompt, Anchor, Target)
            : StylePrompt(anchorPrompt, Target, suffix: rng.Next(3) == 0);
    }

    /// <summary>Target prompts for all anchor prompts, the style choices drawn from a Random seeded with <paramref name="seed"/>.</summary>
    public IReadOnlyList<string> TargetPrompts(int seed)
    {
        var rng = new Random(seed);
        return AnchorPrompts.Select(p => TargetPrompt(p, rng)).ToArray();
    }

    /// <summary>The two style forms of §1: suffix "caption, in the style of target" or prefix "in target's style, caption".</summary>
    public static string StylePrompt(string caption, string target, bool suffix)
        => suffix ? $"{caption}, in the style of {target}" : $"in {target}'s style, {caption}";

    /// <summary>
    /// Replaces whole-word, case-insensitive occurrences of <paramref name="word"/>: an all-caps match gives an all-caps
    /// replacement, a capitalized match a capitalized one, anything else the replacement as given.
    /// </summary>
    public static string ReplaceWord(string text, string word, string replacement)
        => WordRegex(word).Replace(text, m =>
        {
            string v = m.Value;
            bool hasLetter = v.Any(char.IsLetter);
            if (hasLetter && v.Length > 1 && v.All(c => !char.IsLetter(c) || char.IsUpper(c))) return replacement.ToUpperInvariant();
            if (char.IsUpper(v[0]) && replacement.Length > 0) return char.ToUpperInvariant(replacement[0]) + replacement[1..];
            return replacement;
        });

    // Word boundaries by letters/digits rather than \b, so that anchors with spaces or punctuation ("van gogh", "r2-d2") work.
    private static Regex WordRegex(string word)
        => new($@"(?<![\p{{L}}\p{{N}}]){Regex.Escape(word)}(?![\p{{L}}\p{{N}}])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
