using Engine.IO.Images;

namespace Engine.Unlearning.Telemetry;

/// <summary>
/// PNG plots of a <see cref="TrainingLog"/> CSV: losses.png (L_adv, L_ret, L_D), discriminator.png (accuracy on real and
/// fake), surgery.png (firing fraction, mean cosine, and the per-tensor cosine heatmap) and timesteps.png (x̂0 gap and
/// D's accuracy per timestep range). Raw values are drawn faded
/// with a centred moving average on top. NaN cells (skipped steps) are gaps; an empty log gives empty axes.
/// </summary>
public static class TrainingPlots
{
    public const int Width = 900, Height = 520, SurgeryHeight = 900;

    public static void Write(string csvPath, string folder)
    {
        var table = TelemetryTable.Read(csvPath);
        Directory.CreateDirectory(folder);
        double[] steps = table.Numbers("step");

        var losses = new LinePlot { Title = "DoCo losses" };
        AddSmoothed(losses, steps, table.Numbers("l_adv"), "L_adv", Palette.Blue);
        AddSmoothed(losses, steps, table.Numbers("l_ret"), "L_ret", Palette.Orange);
        AddSmoothed(losses, steps, table.Numbers("l_d"), "L_D", Palette.Green);
        Save(losses, Path.Combine(folder, "losses.png"), Height);

        var disc = new LinePlot { Title = "Discriminator accuracy", YMin = 0, YMax = 1 };
        AddSmoothed(disc, steps, table.Numbers("d_acc_real"), "real (anchor)", Palette.Blue);
        AddSmoothed(disc, steps, table.Numbers("d_acc_fake"), "fake (concept)", Palette.Red);
        Save(disc, Path.Combine(folder, "discriminator.png"), Height);

        var surgery = new LinePlot { Title = "Gradient surgery", YMin = -1, YMax = 1 };
        AddSmoothed(surgery, steps, table.Numbers("fired_fraction"), "fired fraction", Palette.Purple);
        AddSmoothed(surgery, steps, table.Numbers("mean_cosine"), "mean cos(g_adv, g_ret)", Palette.Green);
        var heatmap = new Heatmap
        {
            Title = "cos(g_adv, g_ret) per trainable tensor (rows in cos: column order)",
            YLabel = "tensor",
            X = steps,
            Rows = table.CosineColumns.Select(table.Numbers).ToArray(),
        };
        var canvas = new Canvas(Width, SurgeryHeight, Rgb.White);
        surgery.Draw(canvas, 0, 0, Width, Height - 140);
        heatmap.Draw(canvas, 0, Height - 140, Width, SurgeryHeight - Height + 140);
        canvas.Save(Path.Combine(folder, "surgery.png"));

        // timesteps.png: where the adversarial signal lives (TimestepBuckets); older logs lack the columns.
        if (table.Has(TimestepBuckets.Columns[0]))
        {
            Rgb[] colours = [Palette.Blue, Palette.Orange, Palette.Green, Palette.Red];
            var gap = new LinePlot { Title = "RMS of x0_fake - x0_real by timestep range" };
            var acc = new LinePlot { Title = "Discriminator accuracy by timestep range", YMin = 0, YMax = 1 };
            for (int k = 0; k < TimestepBuckets.Count; k++)
            {
                string range = $"t {k * 1000 / TimestepBuckets.Count}-{(k + 1) * 1000 / TimestepBuckets.Count}";
                AddSmoothed(gap, steps, table.Numbers(TimestepBuckets.Columns[k]), range, colours[k]);
                AddSmoothed(acc, steps, table.Numbers(TimestepBuckets.Columns[TimestepBuckets.Count + k]), range, colours[k]);
            }
            var both = new Canvas(Width, 2 * Height, Rgb.White);
            gap.Draw(both, 0, 0, Width, Height);
            acc.Draw(both, 0, Height, Width, Height);
            both.Save(Path.Combine(folder, "timesteps.png"));
        }
    }

    private static void Save(LinePlot plot, string path, int height)
    {
        var canvas = new Canvas(Width, height, Rgb.White);
        plot.Draw(canvas, 0, 0, Width, height);
        canvas.Save(path);
    }

    private static void AddSmoothed(LinePlot plot, double[] x, double[] y, string label, Rgb colour)
    {
        plot.Series.Add(new PlotSeries("", x, y, Palette.Faded(colour), 1));
        plot.Series.Add(new PlotSeries(label, x, Smooth(y, Math.Max(1, y.Length / 25)), colour, 2));
    }

    /// <summary>Centred moving average over ±radius rows of the finite values; NaN where the window has none.</summary>
    public static double[] Smooth(double[] y, int radius)
    {
        var sum = new double[y.Length + 1];
        var count = new int[y.Length + 1];
        for (int i = 0; i < y.Length; i++)
        {
            bool ok = double.IsFinite(y[i]);
            sum[i + 1] = sum[i] + (ok ? y[i] : 0);
            count[i + 1] = count[i] + (ok ? 1 : 0);
        }
        var s = new double[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int lo = Math.Max(0, i - radius), hi = Math.Min(y.Length, i + radius + 1);
            int n = count[hi] - count[lo];
            s[i] = n > 0 ? (sum[hi] - sum[lo]) / n : double.NaN;
        }
        return s;
    }
}
