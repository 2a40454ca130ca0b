using ScottPlot;

namespace Engine.Reports.Plots;

/// <summary>
/// What every plot of a run shares: the shipped font, the matplotlib "tab10" colours, raw-and-smoothed lines, and
/// axis limits fitted to the finite values (NaN never stretches an axis; no data at all gives empty axes).
/// </summary>
public static class Charts
{
    public static readonly Color Blue = Color.FromHex("#1f77b4"), Orange = Color.FromHex("#ff7f0e"), Green = Color.FromHex("#2ca02c"),
        Red = Color.FromHex("#d62728"), Purple = Color.FromHex("#9467bd"), Brown = Color.FromHex("#8c564b"), Cyan = Color.FromHex("#17becf");

    /// <summary>Method colours in order; the base model is black.</summary>
    public static IReadOnlyList<Color> Series { get; } = [Blue, Orange, Green, Red, Purple, Brown, Cyan];

    /// <summary>A colour mixed 60% of the way to white: the raw values under a smoothed line.</summary>
    public static Color Faded(Color c) => c.MixedWith(Colors.White, 0.6);

    /// <summary>An empty plot with a title and axis labels, in the shipped font (registered here, before the plot's labels take their font name).</summary>
    public static Plot Create(string title, string xLabel, string yLabel)
    {
        PlotFonts.Register();
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    /// <summary>
    /// y drawn faded and thin, with its centred moving average (±n/25 rows) in full colour on top, labelled in the
    /// legend. NaN values break the lines; a point with no finite neighbour is drawn as a dot, so it does not vanish.
    /// </summary>
    public static void AddSmoothed(Plot plot, double[] x, double[] y, string label, Color colour)
    {
        AddLine(plot, x, y, Faded(colour), 1, "");
        AddLine(plot, x, MovingAverage.Centred(y, Math.Max(1, y.Length / 25)), colour, 2, label);
    }

    public static void AddLine(Plot plot, double[] x, double[] y, Color colour, float width, string label)
    {
        if (x.Length != y.Length) throw new ArgumentException($"line '{label}': {x.Length} x values for {y.Length} y values");
        var line = plot.Add.ScatterLine(x, y, colour);
        line.LineWidth = width;
        line.LegendText = label;
        var lone = Enumerable.Range(0, x.Length).Where(i => Finite(x, y, i) && !(i > 0 && Finite(x, y, i - 1)) && !(i + 1 < x.Length && Finite(x, y, i + 1))).ToArray();
        if (lone.Length > 0)
        {
            var dots = plot.Add.ScatterPoints(lone.Select(i => x[i]).ToArray(), lone.Select(i => y[i]).ToArray(), colour);
            dots.MarkerSize = width + 3;
        }
    }

    /// <summary>
    /// Sets the limits: x spans the finite <paramref name="x"/> values (at least one unit: a log of one step still has
    /// a step axis), y is fixed or spans the plot's finite values with 5% padding. With no finite y at all the axes
    /// stay empty and say "no data".
    /// </summary>
    public static void FitLimits(Plot plot, IEnumerable<double> x, IEnumerable<double> y, double? yMin = null, double? yMax = null)
    {
        var (xLo, xHi) = Range(x, 0);
        if (xHi - xLo < 1) (xLo, xHi) = ((xLo + xHi) / 2 - 0.5, (xLo + xHi) / 2 + 0.5);
        var yValues = y.Where(double.IsFinite).ToArray();
        var (yLo, yHi) = Range(yValues, 0.05);
        // A fixed range gets 2% room too, so that a line along its edge is not hidden under the frame.
        double room = yMin is double lo && yMax is double hi ? (hi - lo) * 0.02 : 0;
        plot.Axes.SetLimits(xLo, xHi, yMin - room ?? yLo, yMax + room ?? yHi);
        if (yValues.Length == 0) NoData(plot);
    }

    /// <summary>"no data" in the middle of the plot area.</summary>
    public static void NoData(Plot plot)
    {
        var text = plot.Add.Annotation("no data", Alignment.MiddleCenter);
        text.LabelFontSize = 22;
        text.LabelFontColor = Colors.Gray;
        text.LabelBackgroundColor = Colors.Transparent;
        text.LabelBorderColor = Colors.Transparent;
        text.LabelShadowColor = Colors.Transparent;
    }

    /// <summary>The finite values' [min, max], padded by pad × range; (0, 1) when there are none, ± a little when all are equal.</summary>
    public static (double Lo, double Hi) Range(IEnumerable<double> values, double pad)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values)
            if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) return (0, 1);
        if (lo == hi) { double d = Math.Max(Math.Abs(lo) * 0.1, 1e-3); return (lo - d, hi + d); }
        double p = (hi - lo) * pad;
        return (lo - p, hi + p);
    }

    private static bool Finite(double[] x, double[] y, int i) => double.IsFinite(x[i]) && double.IsFinite(y[i]);
}
