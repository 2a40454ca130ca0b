using System.Globalization;
using Engine.Unlearning.Telemetry;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Engine.Reports.Plots;

/// <summary>
/// PNG plots of a <see cref="TrainingLog"/> CSV: losses.png (L_adv, L_ret, L_D), discriminator.png (accuracy on real and
/// fake), surgery.png (firing fraction, mean cosine, and the per-tensor cosine heatmap) and timesteps.png (x̂0 gap and
/// D's accuracy per timestep range; only for logs that have those columns). Raw values are drawn faded with a
/// centred moving average on top. NaN cells (skipped steps) are gaps; an empty log gives empty axes.
/// </summary>
public static class TrainingPlots
{
    public const int Width = 900, Height = 520, SurgeryHeight = 900;

    /// <summary>Height of the line plot at the top of surgery.png; the heatmap takes the rest.</summary>
    internal const int SurgeryLinesHeight = Height - 140;

    /// <summary>Reads the log at <paramref name="csvPath"/> and writes the plots into <paramref name="folder"/>.</summary>
    public static void Write(string csvPath, string folder)
    {
        var table = TelemetryTable.Read(csvPath);
        Directory.CreateDirectory(folder);
        foreach (var (file, height, panels) in Images(table))
            PlotImage.Save(Path.Combine(folder, file), Width, height, panels);
    }

    /// <summary>Every image of the log: file name, height and its panels (the tests read the plots from here).</summary>
    internal static IEnumerable<(string File, int Height, PlotPanel[] Panels)> Images(TelemetryTable table)
    {
        double[] steps = table.Numbers("step");
        yield return ("losses.png", Height, [new(Losses(table, steps), 0, 0, Width, Height)]);
        yield return ("discriminator.png", Height, [new(Discriminator(table, steps), 0, 0, Width, Height)]);
        yield return ("surgery.png", SurgeryHeight, Column(SurgeryHeight,
            new(SurgeryLines(table, steps, CellRange(steps)), 0, 0, Width, SurgeryLinesHeight),
            new(CosineHeatmap(table, steps), 0, SurgeryLinesHeight, Width, SurgeryHeight - SurgeryLinesHeight)));
        // timesteps.png: where the adversarial signal lives (TimestepBuckets); older logs lack the columns.
        if (table.Has(TimestepBuckets.Columns[0]))
        {
            var (gap, accuracy) = Timesteps(table, steps);
            yield return ("timesteps.png", 2 * Height, Column(2 * Height, new(gap, 0, 0, Width, Height), new(accuracy, 0, Height, Width, Height)));
        }
    }

    private static PlotPanel[] Column(int height, params PlotPanel[] panels)
    {
        PlotImage.AlignColumns(Width, height, panels);
        return panels;
    }

    /// <summary>A plot against the step: whole-number x ticks, written as train.csv writes steps (1000, not 1,000).</summary>
    private static Plot Create(string title, string yLabel)
    {
        var plot = Charts.Create(title, "step", yLabel);
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true, LabelFormatter = v => v.ToString(CultureInfo.InvariantCulture) };
        return plot;
    }

    private static Plot Losses(TelemetryTable table, double[] steps)
    {
        var plot = Create("DoCo losses", "loss");
        double[][] series = [table.Numbers("l_adv"), table.Numbers("l_ret"), table.Numbers("l_d")];
        Charts.AddSmoothed(plot, steps, series[0], "L_adv (adversarial, generator)", Charts.Blue);
        Charts.AddSmoothed(plot, steps, series[1], "L_ret (retention)", Charts.Orange);
        Charts.AddSmoothed(plot, steps, series[2], "L_D (discriminator)", Charts.Green);
        Charts.FitLimits(plot, steps, series.SelectMany(s => s));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot Discriminator(TelemetryTable table, double[] steps)
    {
        var plot = Create("Discriminator accuracy", "accuracy");
        double[] real = table.Numbers("d_acc_real"), fake = table.Numbers("d_acc_fake");
        Charts.AddSmoothed(plot, steps, real, "real (anchor)", Charts.Blue);
        Charts.AddSmoothed(plot, steps, fake, "fake (concept)", Charts.Red);
        Charts.FitLimits(plot, steps, [.. real, .. fake], 0, 1);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>The lines above the heatmap share its x range, so that each step sits over its column.</summary>
    private static Plot SurgeryLines(TelemetryTable table, double[] steps, (double Lo, double Hi) x)
    {
        var plot = Create("Gradient surgery", "fraction, cosine");
        double[] fired = table.Numbers("fired_fraction"), cosine = table.Numbers("mean_cosine");
        Charts.AddSmoothed(plot, steps, fired, "fired fraction", Charts.Purple);
        Charts.AddSmoothed(plot, steps, cosine, "mean cos(g_adv, g_ret)", Charts.Green);
        Charts.FitLimits(plot, steps, [.. fired, .. cosine], -1, 1);
        plot.Axes.SetLimitsX(x.Lo, x.Hi);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>Colours of the cosine heatmap: blue −1, near-white 0, red +1 (matplotlib's coolwarm ends); grey for NaN.</summary>
    internal static readonly Color CosineLow = new(59, 76, 192), CosineMid = new(242, 242, 242), CosineHigh = new(180, 4, 38), CosineMissing = new(150, 150, 150);

    /// <summary>One row per cos: column (row 0, the first, at the top), one cell per step.</summary>
    private static Plot CosineHeatmap(TelemetryTable table, double[] steps)
    {
        var plot = Create("cos(g_adv, g_ret) per trainable tensor", "tensor (cos: column)");
        var rows = table.CosineColumns.Select(table.Numbers).ToArray();
        int cols = steps.Length;
        var (xLo, xHi) = CellRange(steps);
        // ScottPlot cannot colour a grid with no finite cell (its range is an error): nothing measured is empty axes.
        if (!rows.Any(r => r.Any(double.IsFinite)))
        {
            plot.Axes.SetLimits(xLo, xHi, 0, 1);
            Charts.NoData(plot);
            return plot;
        }
        var cells = new double[rows.Length, cols];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < cols; j++) cells[i, j] = rows[i][j];
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.ManualRange = new ScottPlot.Range(-1, 1);
        heatmap.NaNCellColor = CosineMissing;
        heatmap.Colormap = new ScottPlot.Colormaps.CustomInterpolated([CosineLow, CosineMid, CosineHigh]);
        heatmap.Rectangle = new CoordinateRect(xLo, xHi, -0.5, rows.Length - 0.5);
        plot.Axes.SetLimits(xLo, xHi, -0.5, rows.Length - 0.5);
        // Row i is drawn at y = rows - 1 - i; label at most 16 rows so the labels never overlap.
        var ticks = new NumericManual();
        int every = (int)Math.Ceiling(rows.Length / 16.0);
        for (int i = 0; i < rows.Length; i += every) ticks.AddMajor(rows.Length - 1 - i, i.ToString(CultureInfo.InvariantCulture));
        plot.Axes.Left.TickGenerator = ticks;
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = "cos";
        return plot;
    }

    /// <summary>The x range of the heatmap's columns: column j spans step j ± half a step, so steps sit at cell centres.</summary>
    private static (double Lo, double Hi) CellRange(double[] steps)
    {
        if (steps.Length == 0) return (0, 1);
        double half = steps.Length > 1 ? (steps[^1] - steps[0]) / (steps.Length - 1) / 2 : 0.5;
        return (steps[0] - half, steps[^1] + half);
    }

    private static (Plot Gap, Plot Accuracy) Timesteps(TelemetryTable table, double[] steps)
    {
        Color[] colours = [Charts.Blue, Charts.Orange, Charts.Green, Charts.Red];
        var gap = Create("RMS of x0_fake - x0_real by timestep range", "RMS gap");
        var accuracy = Create("Discriminator accuracy by timestep range", "accuracy");
        List<double> gaps = [], accuracies = [];
        for (int k = 0; k < TimestepBuckets.Count; k++)
        {
            string range = $"t {k * 1000 / TimestepBuckets.Count}-{(k + 1) * 1000 / TimestepBuckets.Count}";
            double[] g = table.Numbers(TimestepBuckets.Columns[k]), a = table.Numbers(TimestepBuckets.Columns[TimestepBuckets.Count + k]);
            Charts.AddSmoothed(gap, steps, g, range, colours[k]);
            Charts.AddSmoothed(accuracy, steps, a, range, colours[k]);
            gaps.AddRange(g);
            accuracies.AddRange(a);
        }
        Charts.FitLimits(gap, steps, gaps);
        Charts.FitLimits(accuracy, steps, accuracies, 0, 1);
        gap.ShowLegend(Alignment.UpperLeft);
        accuracy.ShowLegend(Alignment.LowerRight);
        return (gap, accuracy);
    }
}
