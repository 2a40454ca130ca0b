using System.Text;

namespace Engine.Models.Text;

/// <summary>
/// The two pieces of Unicode 14.0 (Python 3.11's <c>unicodedata</c>) that the CLIP text clean-up needs and .NET
/// cannot give here: which code points are unassigned (transformers drops them as category Cn, while .NET's newer
/// tables may know them, e.g. recent emoji), and NFC, which .NET does not perform for non-ASCII text under
/// <c>InvariantGlobalization</c> (String.Normalize returns its input unchanged). Tables: Unicode14.Data.cs.
/// </summary>
internal static partial class Unicode14
{
    public static bool IsUnassigned(int cp)
    {
        ReadOnlySpan<int> r = UnassignedRanges;
        int lo = 0, hi = r.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < r[2 * mid]) hi = mid - 1;
            else if (cp > r[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    public static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        ReadOnlySpan<int> r = CombiningClassRanges;
        int lo = 0, hi = r.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < r[3 * mid]) hi = mid - 1;
            else if (cp > r[3 * mid + 1]) lo = mid + 1;
            else return r[3 * mid + 2];
        }
        return 0;
    }

    /// <summary>Normalization Form C (UAX #15): canonical decomposition, canonical ordering, canonical composition.</summary>
    public static string Nfc(string s)
    {
        // Below U+0300 there are no combining marks, and every decomposable character recomposes to itself.
        bool trivial = true;
        foreach (char c in s)
        {
            if (c >= 0x300) { trivial = false; break; }
        }
        if (trivial) return s;

        var cps = new List<int>(s.Length + 4);
        foreach (Rune r in s.EnumerateRunes()) Decompose(r.Value, cps);
        SortCombiningMarks(cps);
        Compose(cps);

        var sb = new StringBuilder(s.Length);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }

    // Hangul syllables decompose and compose by arithmetic (Unicode ch. 3.12).
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static void Decompose(int cp, List<int> output)
    {
        int sIndex = cp - SBase;
        if (sIndex >= 0 && sIndex < SCount)
        {
            output.Add(LBase + sIndex / NCount);
            output.Add(VBase + sIndex % NCount / TCount);
            if (sIndex % TCount != 0) output.Add(TBase + sIndex % TCount);
            return;
        }
        if (Tables.Decomposition.TryGetValue(cp, out (int First, int Second) d))
        {
            Decompose(d.First, output); // mappings can nest: U+1E69 -> U+1E63 U+0307 -> s U+0323 U+0307
            if (d.Second >= 0) Decompose(d.Second, output);
            return;
        }
        output.Add(cp);
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    static void SortCombiningMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cc = CombiningClass(cps[i]);
            if (cc == 0) continue;
            for (int j = i; j > 0 && CombiningClass(cps[j - 1]) > cc; j--) (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
        }
    }

    // Canonical composition: each character joins the last starter unless a character of the same or a higher
    // combining class stands between them (it is "blocked").
    static void Compose(List<int> cps)
    {
        if (cps.Count == 0) return;
        int starterPos = 0;
        int lastClass = CombiningClass(cps[0]) == 0 ? 0 : 256; // no starter yet: nothing may compose
        int written = 1;
        for (int i = 1; i < cps.Count; i++)
        {
            int ch = cps[i];
            int cc = CombiningClass(ch);
            int composite = PrimaryComposite(cps[starterPos], ch);
            if (composite >= 0 && (lastClass < cc || lastClass == 0))
            {
                cps[starterPos] = composite;
                continue;
            }
            if (cc == 0) starterPos = written;
            lastClass = cc;
            cps[written++] = ch;
        }
        cps.RemoveRange(written, cps.Count - written);
    }

    static int PrimaryComposite(int first, int second)
    {
        int lIndex = first - LBase, vIndex = second - VBase;
        if (lIndex >= 0 && lIndex < LCount && vIndex >= 0 && vIndex < VCount) return SBase + (lIndex * VCount + vIndex) * TCount;
        int sIndex = first - SBase, tIndex = second - TBase;
        if (sIndex >= 0 && sIndex < SCount && sIndex % TCount == 0 && tIndex > 0 && tIndex < TCount) return first + tIndex;
        return Tables.Composition.TryGetValue(((long)first << 21) | (uint)second, out int c) ? c : -1;
    }

    // Built once from CanonicalDecompositions on first use.
    static class Tables
    {
        public static readonly Dictionary<int, (int, int)> Decomposition = [];
        public static readonly Dictionary<long, int> Composition = [];

        static Tables()
        {
            ReadOnlySpan<int> d = CanonicalDecompositions;
            for (int i = 0; i < d.Length; i += 4)
            {
                Decomposition[d[i]] = (d[i + 1], d[i + 2]);
                if (d[i + 3] == 1) Composition[((long)d[i + 1] << 21) | (uint)d[i + 2]] = d[i];
            }
        }
    }
}
