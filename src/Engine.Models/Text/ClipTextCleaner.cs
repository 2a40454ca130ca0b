using System.Globalization;
using System.Text;

namespace Engine.Models.Text;

/// <summary>
/// The text clean-up of transformers' <c>CLIPTokenizer</c> when <c>ftfy</c> is not installed:
/// <c>" ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text))</c>.
/// Works on Unicode code points (Python strings), not UTF-16 units: a character outside the BMP is one unit.
/// </summary>
/// <remarks>
/// Steps, in BasicTokenizer's order: (1) drop U+0000, U+FFFD and every category C* character except tab, CR and
/// LF (so also zero-width space/joiner, soft hyphen and unassigned code points); tab, CR, LF and category Zs
/// become a space; (2) put spaces around CJK ideographs; (3) NFC; (4) split on whitespace; (5) lower-case each
/// piece as Python's <c>str.lower</c> does; (6) join with single spaces. Accents are kept
/// (<c>strip_accents=False</c>) and punctuation is not split off (<c>do_split_on_punc=False</c>).
/// The reference run used Python 3.11's Unicode 14.0: characters assigned later (e.g. recent emoji) are
/// unassigned there and dropped, and NFC follows Unicode 14.0 too (<see cref="Unicode14"/>). Other character
/// properties (categories of assigned characters, lower-case mappings) come from .NET's own, newer tables; they
/// agree with Unicode 14.0 for every character Unicode 14.0 assigns, up to the rare property changes between
/// versions.
/// </remarks>
public static class ClipTextCleaner
{
    public static string Clean(string text)
    {
        var sb = new StringBuilder(text.Length + 8);

        // (1) BasicTokenizer._clean_text and (2) _tokenize_chinese_chars, one code point at a time.
        for (int i = 0; i < text.Length;)
        {
            if (!Rune.TryGetRuneAt(text, i, out Rune r))
            {
                i += 1; // a lone surrogate: category Cs in Python, dropped like every C* character
                continue;
            }
            i += r.Utf16SequenceLength;

            int cp = r.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(r)) continue;
            if (IsWhitespace(r)) sb.Append(' ');
            else if (IsCjkIdeograph(cp)) sb.Append(' ').Append(r.ToString()).Append(' ');
            else sb.Append(r.ToString());
        }

        // (3) NFC, so that "e" + combining acute and the precomposed "é" give the same tokens.
        string normalized = Unicode14.Nfc(sb.ToString());

        // (4)-(6) whitespace_tokenize, str.lower per piece, " ".join.
        var pieces = normalized.Split(PythonWhitespaceAfterCleaning, StringSplitOptions.RemoveEmptyEntries);
        for (int p = 0; p < pieces.Length; p++) pieces[p] = PythonLower(pieces[p]);
        return string.Join(' ', pieces);
    }

    // Python's str.split() splits on more than ' ': after step (1) only these of its separators can be left
    // (U+2028/U+2029 are categories Zl/Zp, neither C* nor Zs).
    static readonly char[] PythonWhitespaceAfterCleaning = [' ', '\u2028', '\u2029'];

    /// <summary>transformers' <c>_is_control</c>: category C* except tab, LF and CR; unassigned means unassigned in
    /// Unicode 14.0, the version of the reference run.</summary>
    static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Unicode14.IsUnassigned(r.Value) || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>transformers' <c>_is_whitespace</c>: space, tab, LF, CR and category Zs.</summary>
    static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    /// <summary>BasicTokenizer's "Chinese character": the CJK Unified Ideographs blocks, not kana or Hangul.</summary>
    static bool IsCjkIdeograph(int cp) =>
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);

    /// <summary>
    /// Python's <c>str.lower</c>: the full lower-case mapping, which differs from the simple one only for
    /// U+0130 (İ -> "i" + combining dot above), and capital sigma, which becomes final sigma (ς) at the end of a
    /// word (Unicode's Final_Sigma context).
    /// </summary>
    internal static string PythonLower(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length;)
        {
            Rune r = Rune.GetRuneAt(s, i);
            if (r.Value == 0x130) sb.Append("i\u0307");
            else if (r.Value == 0x3A3) sb.Append(IsFinalSigma(s, i) ? 'ς' : 'σ');
            else sb.Append(Rune.ToLowerInvariant(r).ToString());
            i += r.Utf16SequenceLength;
        }
        return sb.ToString();
    }

    // CPython's handle_capital_sigma: cased (case-ignorable)* Σ, not followed by (case-ignorable)* cased.
    static bool IsFinalSigma(string s, int sigma)
    {
        int j = sigma;
        Rune before = default;
        bool found = false;
        while (j > 0)
        {
            Rune.DecodeLastFromUtf16(s.AsSpan(0, j), out before, out int n);
            j -= n;
            if (!IsCaseIgnorable(before)) { found = true; break; }
        }
        if (!found || !IsCased(before)) return false;

        for (int k = sigma + 1; k < s.Length;)
        {
            Rune after = Rune.GetRuneAt(s, k);
            if (!IsCaseIgnorable(after)) return !IsCased(after);
            k += after.Utf16SequenceLength;
        }
        return true;
    }

    // Unicode's Cased property, approximated by the letter case categories (.NET exposes no Other_Lowercase).
    static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    // Unicode's Case_Ignorable: categories Mn, Me, Cf, Lm, Sk and the Word_Break MidLetter/MidNumLet/Single_Quote
    // characters (apostrophes, full stops, colons, middle dots).
    static bool IsCaseIgnorable(Rune r)
    {
        if (r.Value is '\'' or '.' or ':' or '\u00B7' or '\u0387' or '\u055F' or '\u05F4' or '\u2018' or '\u2019'
            or '\u2024' or '\u2027' or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A')
            return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
    }
}
