using Engine.World.Ruler;
using ScottPlot;

namespace Engine.Reports.Plots;

/// <summary>
/// pareto.png of `doco compare`: in-set and synonym erasure (x, lower is better) against close concepts kept (y),
/// one point per method and seed, the base model in black, so that a method's trade-off and its spread over seeds
/// show at once. Runs the ruler did not measure (and metrics it has no value for) have no point.
/// </summary>
public static class ParetoPlot
{
    public const int PanelWidth = 620, Height = 460;

    public static void Write(string path, IReadOnlyList<ComparisonRun> runs) => PlotImage.Save(path, 2 * PanelWidth, Height, Panels(runs));

    internal static PlotPanel[] Panels(IReadOnlyList<ComparisonRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var panels = new (string Title, string X, Func<RulerMetrics, double?> Get)[]
        {
            ("In-set erasure vs close concepts kept", "in-set: share still showing the concept (%)", m => m.InSetErasure),
            ("Synonym erasure vs close concepts kept", "synonyms: share still showing the concept (%)", m => m.SynonymErasure),
        };
        var baseMetrics = runs.FirstOrDefault(r => r.Ruler?.Base is not null)?.Ruler?.Base;
        return [.. panels.Select((panel, p) =>
        {
            var plot = Charts.Create(panel.Title, panel.X, "close concepts kept (%)");
            if (baseMetrics is not null) AddPoints(plot, "base model", [(panel.Get(baseMetrics), baseMetrics.PreservationClose)], Colors.Black);
            int k = 0;
            foreach (var group in runs.GroupBy(r => r.Variant))
                AddPoints(plot, group.First().Label, [.. group.Where(r => r.Ruler is not null).Select(r => (panel.Get(r.Ruler!.Erased), r.Ruler!.Erased.PreservationClose))],
                    Charts.Series[k++ % Charts.Series.Count]);
            // A little beyond 0-100 so points on the edges show whole.
            plot.Axes.SetLimits(-3, 103, -3, 103);
            // Good trade-offs sit top left, the base model top right: the legend goes bottom left.
            plot.ShowLegend(Alignment.LowerLeft);
            return new PlotPanel(plot, p * PanelWidth, 0, PanelWidth, Height);
        })];
    }

    /// <summary>Filled squares with a black edge; a method with no measured point still has its legend entry.</summary>
    private static void AddPoints(Plot plot, string label, (double? X, double? Y)[] points, Color colour)
    {
        var finite = points.Select(p => (X: Percent(p.X), Y: Percent(p.Y))).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        var markers = plot.Add.Markers(finite.Select(p => p.X).ToArray(), finite.Select(p => p.Y).ToArray(), MarkerShape.FilledSquare, 9, colour);
        markers.MarkerLineColor = Colors.Black;
        markers.MarkerLineWidth = 1;
        markers.LegendText = label;
    }

    private static double Percent(double? v) => v is null ? double.NaN : v.Value * 100;
}
