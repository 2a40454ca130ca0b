using System.Globalization;
using System.Text;

namespace Engine.World.Ruler;

/// <summary>One erasure run of a comparison: which method (variant), which seed, what the ruler measured.</summary>
public sealed record ComparisonRun(string Variant, string Label, ulong Seed, RulerResult? Ruler, double Seconds, float DiscriminatorAccuracy);

/// <summary>
/// The tables of `doco compare`: per method the mean ± standard deviation over seeds of every ruler metric, then every
/// run on its own line. Its Pareto plot is Engine.Reports' ParetoPlot.
/// </summary>
public static class ComparisonReport
{
    private static readonly (string Label, Func<RulerMetrics, double?> Get)[] Metrics =
    [
        ("in-set ↓", m => m.InSetErasure), ("out-of-set ↓", m => m.OutOfSetErasure), ("synonyms ↓", m => m.SynonymErasure),
        ("anchor ↑", m => m.AnchorTransfer), ("attributes ↑", m => m.AttributeRetention), ("close kept ↑", m => m.PreservationClose),
        ("other kept ↑", m => m.PreservationOther),
    ];

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

    private static string Pct(double? v) => v is null ? "–" : (v.Value * 100).ToString("F1", CultureInfo.InvariantCulture);
}
