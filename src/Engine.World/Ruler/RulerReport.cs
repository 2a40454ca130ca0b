using System.Globalization;
using System.Text;
using System.Text.Json;
using Engine.IO;
using Engine.IO.Images;

namespace Engine.World.Ruler;

/// <summary>A ruler result as JSON, a Markdown table, a terminal table (metric, base, erased, change) and an image grid.</summary>
public static class RulerReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static string ToJson(RulerResult r) => JsonSerializer.Serialize(r, Json);

    /// <summary>The inverse of <see cref="ToJson"/> (ruler.json of a run); throws JsonException on a malformed file.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static RulerResult FromJson(string json) => JsonSerializer.Deserialize<RulerResult>(json, Json) ?? throw new JsonException("ruler.json is null");

    /// <summary>The rows: name, base, erased, and whether lower is better (for the reader; the change is erased − base).</summary>
    public static List<(string Metric, double? Base, double? Erased)> Rows(RulerResult r)
    {
        var b = r.Base;
        var e = r.Erased;
        var rows = new List<(string, double?, double?)>
        {
            ("in-set erasure (↓)", b?.InSetErasure, e.InSetErasure),
            ("out-of-set erasure (↓)", b?.OutOfSetErasure, e.OutOfSetErasure),
            ("  of which synonyms (↓)", b?.SynonymErasure, e.SynonymErasure),
        };
        if (r.Anchor is not null) rows.Add(($"anchor transfer to {r.Anchor} (↑)", b?.AnchorTransfer, e.AnchorTransfer));
        rows.Add(("attribute retention (↑)", b?.AttributeRetention, e.AttributeRetention));
        rows.Add(("preservation, close concepts (↑)", b?.PreservationClose, e.PreservationClose));
        rows.Add(("preservation, other concepts (↑)", b?.PreservationOther, e.PreservationOther));
        rows.Add(("preservation, all (↑)", b?.Preservation, e.Preservation));
        return rows;
    }

    private static string Pct(double? v) => v is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * v.Value:F1} %");

    private static string Change(double? b, double? e) =>
        b is null || e is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * (e.Value - b.Value):+0.0;-0.0;0.0} pt");

    private static string Fid(RulerResult r) => r.Fidelity is null ? "–" : r.Fidelity.Value.ToString("F3", CultureInfo.InvariantCulture);

    private static string Title(RulerResult r) =>
        $"erasure of '{r.Concept}' ({r.Kind}{(r.Anchor is null ? "" : $", anchor '{r.Anchor}'")}): {r.Prompts} prompts × {r.Samples} samples";

    public static string ToMarkdown(RulerResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"**{Title(r)}**").AppendLine();
        sb.AppendLine("| metric | base | erased | change |").AppendLine("|---|---:|---:|---:|");
        foreach (var (m, b, e) in Rows(r)) sb.AppendLine(CultureInfo.InvariantCulture, $"| {m} | {Pct(b)} | {Pct(e)} | {Change(b, e)} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| fidelity: Fréchet distance to base (↓) | 0 | {Fid(r)} | |");
        return sb.ToString();
    }

    public static string ToTerminal(RulerResult r)
    {
        var rows = Rows(r).Select(x => (x.Metric, Pct(x.Base), Pct(x.Erased), Change(x.Base, x.Erased))).ToList();
        rows.Add(("fidelity: Fréchet distance to base (↓)", r.Base is null ? "–" : "0", Fid(r), ""));
        int w0 = Math.Max(6, rows.Max(x => x.Item1.Length));
        const int w = 10;
        var sb = new StringBuilder();
        sb.AppendLine(Title(r));
        sb.AppendLine($"{"metric".PadRight(w0)}  {"base",w}  {"erased",w}  {"change",w}");
        sb.AppendLine(new string('-', w0 + 3 * (w + 2)));
        foreach (var (m, b, e, c) in rows) sb.AppendLine($"{m.PadRight(w0)}  {b,w}  {e,w}  {c,w}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"({r.Seconds:F1} s)");
        return sb.ToString();
    }

    /// <summary>
    /// Before/after grid with the same seeds: one row per prompt (up to <paramref name="rowsPerSide"/> target prompts,
    /// then as many non-target ones), the base model's N samples on the left and the erased model's on the right.
    /// </summary>
    public static void SaveGrid(string path, ErasureRuler ruler, RulerSamples? baseSamples, RulerSamples erased, int rowsPerSide = 4)
    {
        int n = ruler.Settings.Samples, numel = 3 * WorldModel.ImageSize * WorldModel.ImageSize;
        var prompts = ruler.Prompts;
        var pick = Enumerable.Range(0, prompts.Count).Where(i => prompts[i].Group is PromptGroup.InSet or PromptGroup.OutOfSet).Take(rowsPerSide)
            .Concat(Enumerable.Range(0, prompts.Count).Where(i => prompts[i].Group is PromptGroup.Close or PromptGroup.Other).Take(rowsPerSide)).ToList();
        var sources = baseSamples is null ? [erased] : new[] { baseSamples, erased };
        int cols = n * sources.Length;
        var tiles = new float[pick.Count * cols * numel];
        int t = 0;
        foreach (int i in pick)
            foreach (var s in sources)
                for (int j = 0; j < n; j++)
                    s.Images.AsSpan((i * n + j) * numel, numel).CopyTo(tiles.AsSpan(t++ * numel));
        var (rgb, w, h) = ImageGrid.Compose(tiles, pick.Count * cols, 3, WorldModel.ImageSize, WorldModel.ImageSize, columns: cols);
        Png.Save(path, rgb, w, h);
        AtomicFile.WriteAllText(Path.ChangeExtension(path, ".txt"),
            (baseSamples is null ? "" : $"left {n}: base, right {n}: erased; ") + "rows:\n" + string.Join("\n", pick.Select(i => $"{prompts[i].Group}: {prompts[i].Text}")) + "\n");
    }
}
