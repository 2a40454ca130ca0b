using System.Globalization;

namespace Engine.IO.Images;

/// <summary>One line of a <see cref="LinePlot"/>; an empty label keeps it out of the legend. NaN values break the line.</summary>
public sealed record PlotSeries(string Label, double[] X, double[] Y, Rgb Color, double Width = 1.5);

/// <summary>Colours for plot lines (the matplotlib "tab10" first five) and a faded variant for raw, unsmoothed data.</summary>
public static class Palette
{
    public static readonly Rgb Blue = new(31, 119, 180), Orange = new(255, 127, 14), Green = new(44, 160, 44),
        Red = new(214, 39, 40), Purple = new(148, 103, 189);

    public static Rgb Faded(Rgb c) => Rgb.Lerp(c, Rgb.White, 0.6);
}

/// <summary>Axis ranges, 1-2-5 tick positions, tick labels, and the frame shared by <see cref="LinePlot"/> and <see cref="Heatmap"/>.</summary>
public static class Axes
{
    public const int Left = 62, Right = 14, Top = 24, Bottom = 34;

    /// <summary>The finite values' [min, max], padded by pad × range; (0, 1) when there are none, ± a little when all are equal.</summary>
    public static (double Lo, double Hi) Range(IEnumerable<double> values, double pad = 0)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values)
            if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) return (0, 1);
        if (lo == hi) { double d = Math.Max(Math.Abs(lo) * 0.1, 1e-3); return (lo - d, hi + d); }
        double p = (hi - lo) * pad;
        return (lo - p, hi + p);
    }

    /// <summary>About <paramref name="target"/> round tick values (1, 2 or 5 × 10^k apart) inside [lo, hi], and their spacing.</summary>
    public static (double[] Ticks, double Step) NiceTicks(double lo, double hi, int target = 6)
    {
        double raw = (hi - lo) / Math.Max(1, target);
        if (!(raw > 0) || !double.IsFinite(raw)) return ([lo], 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw))), norm = raw / mag;
        double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        var ticks = new List<double>();
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return (ticks.ToArray(), step);
    }

    /// <summary>A tick label with just enough decimals for ticks <paramref name="step"/> apart; exponent form for very large or small.</summary>
    public static string Format(double v, double step)
    {
        if (!double.IsFinite(v)) return v.ToString(CultureInfo.InvariantCulture);
        if (Math.Abs(v) >= 1e6 || (step < 1e-4 && v != 0)) return v.ToString("0.##E+0", CultureInfo.InvariantCulture);
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(step) - 1e-9), 0, 6);
        return v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>Title above, frame around the plot area, x ticks, their labels and the axis label below it.</summary>
    public static void Frame(Canvas c, (int X, int Y, int W, int H) area, string title, string xLabel, double xLo, double xHi)
    {
        c.Text(area.X, area.Y - Top + 6, title, Rgb.Black, 1);
        var (ticks, step) = NiceTicks(xLo, xHi, Math.Max(2, area.W / 90));
        foreach (var t in ticks)
        {
            int px = area.X + (int)Math.Round((t - xLo) / (xHi - xLo) * (area.W - 1));
            c.FillRect(px, area.Y + area.H, 1, 4, Rgb.Axis);
            string s = Format(t, step);
            c.Text(px - Canvas.TextWidth(s) / 2, area.Y + area.H + 7, s, Rgb.Axis);
        }
        c.Text(area.X + (area.W - Canvas.TextWidth(xLabel)) / 2, area.Y + area.H + 20, xLabel, Rgb.Axis);
        c.StrokeRect(area.X - 1, area.Y - 1, area.W + 2, area.H + 2, Rgb.Axis);
    }

    /// <summary>A y tick mark and its label left of the frame at pixel row py.</summary>
    /// <summary>Grid lines at nice ticks and the y tick labels; returns the data-to-pixel maps of the area.</summary>
    public static (Func<double, int> Px, Func<double, int> Py) Grid(Canvas c, (int X, int Y, int W, int H) area, double xLo, double xHi, double yLo, double yHi)
    {
        var (yTicks, yStep) = NiceTicks(yLo, yHi, Math.Max(2, area.H / 50));
        var (xTicks, _) = NiceTicks(xLo, xHi, Math.Max(2, area.W / 90));
        int Px(double v) => area.X + (int)Math.Round((v - xLo) / (xHi - xLo) * (area.W - 1));
        int Py(double v) => area.Y + area.H - 1 - (int)Math.Round((v - yLo) / (yHi - yLo) * (area.H - 1));
        foreach (var t in xTicks) c.FillRect(Px(t), area.Y, 1, area.H, Rgb.Grid);
        foreach (var t in yTicks)
        {
            c.FillRect(area.X, Py(t), area.W, 1, Rgb.Grid);
            YTick(c, area, Py(t), Format(t, yStep));
        }
        return (Px, Py);
    }

    /// <summary>A legend box in the top-right corner: <paramref name="marker"/>(x, centre y, colour, index) draws each key, the label follows at <paramref name="textOffset"/>.</summary>
    public static void Legend(Canvas c, (int X, int Y, int W, int H) area, IReadOnlyList<(string Label, Rgb Color)> entries, int textOffset, Action<int, int, Rgb, int> marker,
        bool bottomLeft = false)
    {
        if (entries.Count == 0) return;
        int w = entries.Max(e => Canvas.TextWidth(e.Label)) + textOffset + 6, h = entries.Count * 12 + 6;
        int lx = bottomLeft ? area.X + 6 : area.X + area.W - w - 6, ly = bottomLeft ? area.Y + area.H - h - 6 : area.Y + 6;
        c.FillRect(lx, ly, w, h, Rgb.White);
        c.StrokeRect(lx, ly, w, h, Rgb.Grid);
        for (int i = 0; i < entries.Count; i++)
        {
            int cy = ly + 9 + i * 12;
            marker(lx, cy, entries[i].Color, i);
            c.Text(lx + textOffset, cy - 3, entries[i].Label, Rgb.Black);
        }
    }

    public static void YTick(Canvas c, (int X, int Y, int W, int H) area, int py, string label)
    {
        c.FillRect(area.X - 5, py, 4, 1, Rgb.Axis);
        c.Text(area.X - 8 - Canvas.TextWidth(label), py - 3, label, Rgb.Axis);
    }
}

/// <summary>Lines over a shared x axis with grid, numeric ticks and a legend. NaN points are gaps; empty data draws "no data".</summary>
public sealed class LinePlot
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "step";
    /// <summary>Fixed y limits; null = from the data.</summary>
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    public List<PlotSeries> Series { get; } = [];

    /// <summary>Draws the plot, margins included, into the rectangle (x, y, w, h) of the canvas.</summary>
    public void Draw(Canvas c, int x, int y, int w, int h)
    {
        var area = (X: x + Axes.Left, Y: y + Axes.Top, W: w - Axes.Left - Axes.Right, H: h - Axes.Top - Axes.Bottom);
        if (area.W < 10 || area.H < 10) throw new ArgumentException($"plot area {w}×{h} is too small");
        var (xLo, xHi) = Axes.Range(Series.SelectMany(s => s.X));
        var auto = Axes.Range(Series.SelectMany(s => s.Y), pad: 0.05);
        double yLo = YMin ?? auto.Lo, yHi = YMax ?? auto.Hi;
        if (!(yHi > yLo)) yHi = yLo + 1;

        Axes.Grid(c, area, xLo, xHi, yLo, yHi);
        Axes.Frame(c, area, Title, XLabel, xLo, xHi);

        bool any = false;
        foreach (var s in Series)
        {
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"series '{s.Label}': {s.X.Length} x values for {s.Y.Length} y values");
            var xs = s.X.Select(v => area.X + 0.5 + (v - xLo) / (xHi - xLo) * (area.W - 1)).ToArray();
            var ys = s.Y.Select(v => area.Y + area.H - 0.5 - (v - yLo) / (yHi - yLo) * (area.H - 1)).ToArray();
            c.Polyline(xs, ys, s.Color, s.Width, area);
            any |= s.Y.Any(double.IsFinite);
        }
        if (!any) c.Text(area.X + (area.W - Canvas.TextWidth("no data", 2)) / 2, area.Y + area.H / 2 - 7, "no data", Rgb.Axis, 2);
        Legend(c, area);
    }

    private void Legend(Canvas c, (int X, int Y, int W, int H) area)
    {
        var labelled = Series.Where(s => s.Label.Length > 0).ToList();
        Axes.Legend(c, area, [.. labelled.Select(s => (s.Label, s.Color))], 28, (lx, cy, colour, i) =>
            c.Polyline([lx + 6.0, lx + 24.0], [cy + 0.5, cy + 0.5], colour, Math.Max(2, labelled[i].Width), (0, 0, c.Width, c.Height)));
    }
}

/// <summary>
/// A matrix of values over steps (one row per item, one column per step) as colours on a blue–white–red scale from
/// <see cref="Min"/> to <see cref="Max"/>, with a colour bar; NaN cells are grey. Wider data than pixels is sampled.
/// </summary>
public sealed class Heatmap
{
    private static readonly Rgb Low = new(59, 76, 192), Mid = new(242, 242, 242), High = new(180, 4, 38), Missing = new(150, 150, 150);

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "step";
    public string YLabel { get; init; } = "";
    public double Min { get; init; } = -1;
    public double Max { get; init; } = 1;
    /// <summary>The x value (step) of each column.</summary>
    public required double[] X { get; init; }
    /// <summary>Rows[i][j]: item i at column j.</summary>
    public required double[][] Rows { get; init; }

    public Rgb Colour(double v)
    {
        if (!double.IsFinite(v)) return Missing;
        double t = (v - Min) / (Max - Min);
        return t < 0.5 ? Rgb.Lerp(Low, Mid, t * 2) : Rgb.Lerp(Mid, High, t * 2 - 1);
    }

    public void Draw(Canvas c, int x, int y, int w, int h)
    {
        const int BarSpace = 56;
        var area = (X: x + Axes.Left, Y: y + Axes.Top, W: w - Axes.Left - Axes.Right - BarSpace, H: h - Axes.Top - Axes.Bottom);
        if (area.W < 10 || area.H < 10) throw new ArgumentException($"heatmap area {w}×{h} is too small");
        int cols = X.Length, rows = Rows.Length;
        foreach (var r in Rows)
            if (r.Length != cols) throw new ArgumentException($"heatmap row of {r.Length} values for {cols} columns");
        if (cols > 0 && rows > 0)
        {
            for (int py = 0; py < area.H; py++)
            {
                int i = (int)((long)py * rows / area.H);
                for (int px = 0; px < area.W; px++)
                    c.FillRect(area.X + px, area.Y + py, 1, 1, Colour(Rows[i][(int)((long)px * cols / area.W)]));
            }
            // Row labels at row centres, thinned so they never overlap.
            int every = Math.Max(1, (int)Math.Ceiling(rows * 11.0 / area.H));
            for (int i = 0; i < rows; i += every)
                Axes.YTick(c, area, area.Y + (int)((i + 0.5) * area.H / rows), i.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            c.Text(area.X + (area.W - Canvas.TextWidth("no data", 2)) / 2, area.Y + area.H / 2 - 7, "no data", Rgb.Axis, 2);
        }
        // Column j spans [j, j+1) of the area: label the axis with the first and last step at the column centres.
        double half = cols > 1 ? (X[^1] - X[0]) / (cols - 1) / 2 : 0.5;
        var (xLo, xHi) = cols > 0 ? (X[0] - half, X[^1] + half) : (0.0, 1.0);
        Axes.Frame(c, area, Title, XLabel, xLo, xHi);
        if (YLabel.Length > 0) c.TextVertical(x + 4, area.Y + (area.H - Canvas.TextWidth(YLabel)) / 2, YLabel, Rgb.Axis);

        int bx = area.X + area.W + 14;
        for (int py = 0; py < area.H; py++) c.FillRect(bx, area.Y + py, 12, 1, Colour(Max - (Max - Min) * py / Math.Max(1, area.H - 1)));
        c.StrokeRect(bx - 1, area.Y - 1, 14, area.H + 2, Rgb.Axis);
        var (ticks, step) = Axes.NiceTicks(Min, Max, 4);
        foreach (var t in ticks)
        {
            int py = area.Y + (int)Math.Round((Max - t) / (Max - Min) * (area.H - 1));
            c.FillRect(bx + 13, py, 3, 1, Rgb.Axis);
            c.Text(bx + 18, py - 3, Axes.Format(t, step), Rgb.Axis);
        }
    }
}

/// <summary>One group of points of a <see cref="ScatterPlot"/>, drawn as filled squares of one colour.</summary>
public sealed record ScatterSeries(string Label, double[] X, double[] Y, Rgb Color);

/// <summary>Points on fixed or data-fitted axes, with grid, ticks, axis labels and a legend (a Pareto plot, say).</summary>
public sealed class ScatterPlot
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    public List<ScatterSeries> Series { get; } = [];

    /// <summary>Put the legend in the bottom-left corner instead of the top-right one.</summary>
    public bool LegendBottomLeft { get; init; }

    public void Draw(Canvas c, int x, int y, int w, int h)
    {
        var area = (X: x + Axes.Left, Y: y + Axes.Top, W: w - Axes.Left - Axes.Right, H: h - Axes.Top - Axes.Bottom);
        if (area.W < 10 || area.H < 10) throw new ArgumentException($"plot area {w}×{h} is too small");
        var autoX = Axes.Range(Series.SelectMany(s => s.X), pad: 0.05);
        var autoY = Axes.Range(Series.SelectMany(s => s.Y), pad: 0.05);
        double xLo = XMin ?? autoX.Lo, xHi = XMax ?? autoX.Hi, yLo = YMin ?? autoY.Lo, yHi = YMax ?? autoY.Hi;
        if (!(xHi > xLo)) xHi = xLo + 1;
        if (!(yHi > yLo)) yHi = yLo + 1;
        var (Px, Py) = Axes.Grid(c, area, xLo, xHi, yLo, yHi);
        Axes.Frame(c, area, Title, XLabel, xLo, xHi);
        if (YLabel.Length > 0) c.TextVertical(x + 4, area.Y + (area.H - Canvas.TextWidth(YLabel)) / 2, YLabel, Rgb.Axis);
        foreach (var s in Series)
        {
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"series '{s.Label}': {s.X.Length} x values for {s.Y.Length} y values");
            for (int i = 0; i < s.X.Length; i++)
            {
                if (!double.IsFinite(s.X[i]) || !double.IsFinite(s.Y[i])) continue;
                int px = Math.Clamp(Px(s.X[i]), area.X + 3, area.X + area.W - 4), py = Math.Clamp(Py(s.Y[i]), area.Y + 3, area.Y + area.H - 4);
                c.FillRect(px - 3, py - 3, 7, 7, s.Color);
                c.StrokeRect(px - 3, py - 3, 7, 7, Rgb.Black);
            }
        }
        Axes.Legend(c, area, [.. Series.Where(s => s.Label.Length > 0).Select(s => (s.Label, s.Color))], 18,
            (lx, cy, colour, _) => c.FillRect(lx + 6, cy - 3, 7, 7, colour), LegendBottomLeft);
    }
}
