using System.Globalization;
using System.Text;
using Engine.IO.Images;

namespace Engine.World.Ruler;

/// <summary>One erasure run of a comparison: which method (variant), which seed, what the ruler measured.</summary>
public sealed record ComparisonRun(string Variant, string Label, ulong Seed, RulerResult? Ruler, double Seconds, float DiscriminatorAccuracy);

/// <summary>
/// The tables and the Pareto plot of `doco compare`: per method the mean ± standard deviation over seeds of every ruler
/// metric, then every run on its own line, and a plot of erasure against close-concept preservation with one point
/// per method and seed (the base model in black), so that a method's trade-off and its spread over seeds show at once.
/// </summary>
public static class ComparisonReport
{
    private static readonly (string Label, Func<RulerMetrics, double?> Get)[] Metrics =
    [
        ("in-set ↓", m => m.InSetErasure), ("out-of-set ↓", m => m.OutOfSetErasure), ("synonyms ↓", m => m.SynonymErasure),
        ("anchor ↑", m => m.AnchorTransfer), ("attributes ↑", m => m.AttributeRetention), ("close kept ↑", m => m.PreservationClose),
        ("other kept ↑", m => m.PreservationOther),
    ];

    private static readonly Rgb[] Colours = [Palette.Blue, Palette.Orange, Palette.Green, Palette.Red, Palette.Purple, new(140, 86, 75), new(23, 190, 207)];

    public static string Markdown(IReadOnlyList<ComparisonRun> runs, string heading)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(heading);
        sb.AppendLine();
        sb.AppendLine("| method | seeds | " + string.Join(" | ", Metrics.Select(m => m.Label)) + " | Fréchet ↓ | D acc | time |");
        sb.AppendLine("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", Metrics.Length + 3)));
        var baseMetrics = runs.FirstOrDefault(r => r.Ruler?.Base is not null)?.Ruler?.Base;
        if (baseMetrics is not null)
            sb.AppendLine("| base model | | " + string.Join(" | ", Metrics.Select(m => Pct(m.Get(baseMetrics)))) + " | 0 | | |");
        foreach (var group in runs.GroupBy(r => r.Variant))
        {
            var list = group.ToList();
            var measured = list.Where(r => r.Ruler is not null).ToList();
            string Cell(Func<RulerResult, double?> get, bool percent)
            {
                var v = measured.Select(r => get(r.Ruler!)).Where(x => x is not null).Select(x => x!.Value * (percent ? 100 : 1)).ToList();
                if (v.Count == 0) return "–";
                double mean = v.Average(), sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : 0;
                return v.Count > 1 ? string.Create(c, $"{mean:F1} ± {sd:F1}") : string.Create(c, $"{mean:F1}");
            }
            var dacc = list.Select(r => (double)r.DiscriminatorAccuracy).Where(double.IsFinite).ToList();
            sb.AppendLine($"| {list[0].Label} | {list.Count} | " + string.Join(" | ", Metrics.Select(m => Cell(r => m.Get(r.Erased), true)))
                + " | " + Cell(r => r.Fidelity, false) + " | " + (dacc.Count > 0 ? dacc.Average().ToString("F2", c) : "–")
                + (list.Any(r => double.IsNaN(r.Seconds)) ? " | – |" : string.Create(c, $" | {list.Average(r => r.Seconds):F0} s |")));
        }
        sb.AppendLine();
        sb.AppendLine("Percentages; mean ± sample standard deviation over the seeds. D acc: the discriminator's accuracy over the last 20 steps.");
        sb.AppendLine();
        sb.AppendLine("Every run:");
        sb.AppendLine();
        sb.AppendLine("| method | seed | " + string.Join(" | ", Metrics.Select(m => m.Label)) + " | Fréchet ↓ |");
        sb.AppendLine("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", Metrics.Length + 1)));
        foreach (var r in runs)
            sb.AppendLine($"| {r.Label} | {r.Seed} | " + string.Join(" | ", Metrics.Select(m => r.Ruler is null ? "–" : Pct(m.Get(r.Ruler.Erased))))
                + " | " + (r.Ruler?.Fidelity is double f ? f.ToString("F1", c) : "–") + " |");
        return sb.ToString();
    }

    /// <summary>Two panels: in-set erasure and synonym erasure (x, lower is better) against close concepts kept (y).</summary>
    public static void SavePareto(string path, IReadOnlyList<ComparisonRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        const int W = 620, H = 460;
        var canvas = new Canvas(2 * W, H, Rgb.White);
        var panels = new (string Title, string X, Func<RulerMetrics, double?> Get)[]
        {
            ("In-set erasure vs close concepts kept", "in-set: share still showing the concept (%)", m => m.InSetErasure),
            ("Synonym erasure vs close concepts kept", "synonyms: share still showing the concept (%)", m => m.SynonymErasure),
        };
        for (int p = 0; p < panels.Length; p++)
        {
            // Good trade-offs sit top left, the base model top right: the legend goes bottom left.
            var plot = new ScatterPlot { Title = panels[p].Title, XLabel = panels[p].X, YLabel = "close kept (%)", XMin = 0, XMax = 100, YMin = 0, YMax = 100, LegendBottomLeft = true };
            var baseMetrics = runs.FirstOrDefault(r => r.Ruler?.Base is not null)?.Ruler?.Base;
            if (baseMetrics is not null) plot.Series.Add(new ScatterSeries("base", [Pct100(panels[p].Get(baseMetrics))], [Pct100(baseMetrics.PreservationClose)], Rgb.Black));
            int k = 0;
            foreach (var group in runs.GroupBy(r => r.Variant))
            {
                var list = group.Where(r => r.Ruler is not null).ToList();
                plot.Series.Add(new ScatterSeries(group.First().Label, [.. list.Select(r => Pct100(panels[p].Get(r.Ruler!.Erased)))],
                    [.. list.Select(r => Pct100(r.Ruler!.Erased.PreservationClose))], Colours[k++ % Colours.Length]));
            }
            plot.Draw(canvas, p * W, 0, W, H);
        }
        canvas.Save(path);
    }

    private static double Pct100(double? v) => v is null ? double.NaN : v.Value * 100;

    private static string Pct(double? v) => v is null ? "–" : (v.Value * 100).ToString("F1", CultureInfo.InvariantCulture);
}
