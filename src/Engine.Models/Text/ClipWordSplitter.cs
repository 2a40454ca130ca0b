using System.Globalization;
using System.Text;

namespace Engine.Models.Text;

/// <summary>
/// CLIP's pre-tokenizer: the words are the matches of
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (case-insensitive, Python <c>regex</c> module, <c>re.findall</c>).
/// </summary>
/// <remarks>
/// Written out as a scanner rather than a .NET <see cref="System.Text.RegularExpressions.Regex"/> because the
/// Python pattern matches code points: .NET's <c>\p{L}</c> does not match a letter outside the BMP (its two
/// surrogates are category Cs), so "a𝐀" would split in two and an astral digit would join a punctuation run.
/// The alternatives are tried in the pattern's order at each position; a position where none matches (whitespace)
/// is skipped.
/// </remarks>
public static class ClipWordSplitter
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";

    static readonly string[] Literals = [StartOfText, EndOfText, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    public static List<string> Split(string text)
    {
        var words = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            int end = MatchAt(text, i);
            if (end > i)
            {
                words.Add(text[i..end]);
                i = end;
            }
            else
            {
                i += RuneAt(text, i).Utf16SequenceLength;
            }
        }
        return words;
    }

    // The end of the match that starts at i, or i when no alternative matches there.
    static int MatchAt(string text, int i)
    {
        foreach (string literal in Literals)
        {
            if (StartsWithIgnoreCase(text, i, literal)) return i + literal.Length;
        }

        Rune first = RuneAt(text, i);
        if (IsLetter(first))
        {
            int end = i;
            for (Rune r = first; end < text.Length && IsLetter(r = RuneAt(text, end));) end += r.Utf16SequenceLength;
            return end;
        }
        if (IsNumber(first)) return i + first.Utf16SequenceLength; // one digit per word: "2048" -> 2, 0, 4, 8
        if (IsOther(first))
        {
            int end = i;
            for (Rune r = first; end < text.Length && IsOther(r = RuneAt(text, end));) end += r.Utf16SequenceLength;
            return end;
        }
        return i;
    }

    // IGNORECASE of Python's regex uses simple case folding, under which the long s (U+017F) is an 's'. The text
    // is lower-cased before it gets here, so the other folds do not arise.
    static bool StartsWithIgnoreCase(string text, int i, string literal)
    {
        if (text.Length - i < literal.Length) return false;
        for (int k = 0; k < literal.Length; k++)
        {
            char c = char.ToLowerInvariant(text[i + k]);
            if (c != literal[k] && !(literal[k] == 's' && c == '\u017F')) return false;
        }
        return true;
    }

    static Rune RuneAt(string text, int i) =>
        Rune.TryGetRuneAt(text, i, out Rune r) ? r : Rune.ReplacementChar; // lone surrogates were cleaned away

    static bool IsLetter(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
        or UnicodeCategory.OtherLetter;

    static bool IsNumber(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    static bool IsOther(Rune r) => !Rune.IsWhiteSpace(r) && !IsLetter(r) && !IsNumber(r);
}
