using Engine.Reports.Plots;
using Engine.Tests.Unlearning;
using Engine.Unlearning.Telemetry;
using ScottPlot;
using SkiaSharp;

namespace Engine.Tests.Reports;

/// <summary>The plots of a training log: files, sizes, colours, every text drawn, NaN gaps, empty logs, the heatmap's rows.</summary>
public sealed class TrainingPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("training-plots-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Csv => Path.Combine(_dir, TrainingLog.FileName);

    /// <summary>A log of plausible steps (TelemetryTests.Record); step 7 is skipped (NaN losses and one NaN cosine).</summary>
    private TelemetryTable WriteSteps(int count)
    {
        using (var log = TrainingLog.Open(Csv, TelemetryTests.Tensors))
            for (int s = 0; s < count; s++) log.Append(TelemetryTests.Record(s, skipped: s == 7));
        return TelemetryTable.Read(Csv);
    }

    [Fact]
    public void Write_FromASmallLog_WritesFourPngs_OfTheExpectedSize_WithTheSeriesColours()
    {
        WriteSteps(120);
        string plots = Path.Combine(_dir, "plots");
        TrainingPlots.Write(Csv, plots);
        var expected = new (string File, int Height, Color[] Colours)[]
        {
            ("losses.png", TrainingPlots.Height, [Charts.Blue, Charts.Orange, Charts.Green]),
            ("discriminator.png", TrainingPlots.Height, [Charts.Blue, Charts.Red]),
            ("surgery.png", TrainingPlots.SurgeryHeight, [Charts.Green, Charts.Purple, TrainingPlots.CosineMissing]),
            ("timesteps.png", 2 * TrainingPlots.Height, [Charts.Blue, Charts.Orange, Charts.Green, Charts.Red]),
        };
        Assert.Equal(expected.Select(e => e.File).Order(), Directory.GetFiles(plots).Select(Path.GetFileName).Order());
        foreach (var (file, height, colours) in expected)
        {
            using var image = PlotPixels.Read(Path.Combine(plots, file));
            Assert.Equal((TrainingPlots.Width, height), (image.Width, image.Height));
            foreach (var c in colours) Assert.True(PlotPixels.HasColour(image, c), $"{file}: no {c} pixel");
            // The raw values under the first (noisy) smoothed line are drawn faded.
            Assert.True(PlotPixels.HasColour(image, Charts.Faded(colours[0])), $"{file}: no faded raw line");
        }
    }

    [Fact]
    public void EveryTitle_AxisLabel_Tick_AndLegendEntry_IsDrawn()
    {
        int texts = 0;
        foreach (var (file, height, panels) in TrainingPlots.Images(WriteSteps(120)))
            texts += PlotText.AssertAllDrawn(TrainingPlots.Width, height, panels);
        Assert.True(texts > 100, $"only {texts} texts checked");
        // A log of one step still has labelled axes.
        foreach (var (file, height, panels) in TrainingPlots.Images(WriteSteps(1)))
            PlotText.AssertAllDrawn(TrainingPlots.Width, height, panels);
    }

    [Fact]
    public void EmptyLog_AndAllNaNColumns_GiveLabelledEmptyAxes()
    {
        TrainingLog.Open(Csv, TelemetryTests.Tensors).Dispose(); // a header and no rows
        foreach (var (_, height, panels) in TrainingPlots.Images(TelemetryTable.Read(Csv)))
        {
            Assert.All(panels, p => Assert.NotEmpty(p.Plot.GetPlottables<ScottPlot.Plottables.Annotation>())); // "no data"
            PlotText.AssertAllDrawn(TrainingPlots.Width, height, panels);
        }
        TrainingPlots.Write(Csv, Path.Combine(_dir, "empty"));
        Assert.Equal(4, Directory.GetFiles(Path.Combine(_dir, "empty"), "*.png").Length);

        using (var log = TrainingLog.Open(Csv, TelemetryTests.Tensors))
            for (int s = 0; s < 5; s++)
                log.Append(TelemetryTests.Record(s, skipped: true) with { DAccReal = float.NaN, DAccFake = float.NaN, MeanCosine = float.NaN, Cosines = [float.NaN, float.NaN] });
        var discriminator = TrainingPlots.Images(TelemetryTable.Read(Csv)).Single(i => i.File == "discriminator.png");
        Assert.NotEmpty(discriminator.Panels[0].Plot.GetPlottables<ScottPlot.Plottables.Annotation>());
        PlotText.AssertAllDrawn(TrainingPlots.Width, discriminator.Height, discriminator.Panels);

        TrainingLog.Open(Csv, []).Dispose(); // no trainable tensors: no cos: columns, an empty heatmap
        TrainingPlots.Write(Csv, Path.Combine(_dir, "no-tensors"));
        using var surgery = PlotPixels.Read(Path.Combine(_dir, "no-tensors", "surgery.png"));
        Assert.Equal(TrainingPlots.SurgeryHeight, surgery.Height);
    }

    [Fact]
    public void NaN_BreaksTheLine_AndALonePointIsADot()
    {
        double[] x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] y = [0, 1, 0, 1, double.NaN, double.NaN, double.NaN, 1, double.NaN, 0, 1];
        var plot = Charts.Create("gaps", "x", "y");
        Charts.AddLine(plot, x, y, Charts.Blue, 2, "line");
        Charts.FitLimits(plot, x, y);
        var panel = new PlotPanel(plot, 0, 0, 600, 400);
        using var image = PlotImage.Render(600, 400, [panel]);
        var data = plot.RenderManager.LastRender.DataRect;
        int Px(double v) => (int)plot.Axes.Bottom.GetPixel(v, data);
        SKRectI Columns(double from, double to) => new(Px(from), (int)data.Top, Px(to), (int)data.Bottom);
        Assert.True(PlotPixels.HasColour(image, Charts.Blue, Columns(0.2, 2.8)));
        Assert.False(PlotPixels.HasColour(image, Charts.Blue, Columns(3.3, 6.7)), "a line crosses the NaN gap");
        Assert.True(PlotPixels.HasColour(image, Charts.Blue, Columns(6.9, 7.1)), "the lone point at x = 7 is not drawn");
        Assert.False(PlotPixels.HasColour(image, Charts.Blue, Columns(7.3, 8.7)), "a line crosses the NaN at x = 8");
    }

    [Fact]
    public void Heatmap_DrawsTheFirstCosColumnOnTop()
    {
        // Tensor 0's cosine is always +1 (red), tensor 1's always -1 (blue).
        using (var log = TrainingLog.Open(Csv, TelemetryTests.Tensors))
            for (int s = 0; s < 30; s++) log.Append(TelemetryTests.Record(s) with { Cosines = [1f, -1f] });
        var (_, height, panels) = TrainingPlots.Images(TelemetryTable.Read(Csv)).Single(i => i.File == "surgery.png");
        using var image = PlotImage.Render(TrainingPlots.Width, height, panels);
        var data = panels[1].Plot.RenderManager.LastRender.DataRect;
        int mid = (int)((data.Top + data.Bottom) / 2);
        var upper = new SKRectI((int)data.Left, (int)data.Top, (int)data.Right, mid - 2);
        var lower = new SKRectI((int)data.Left, mid + 2, (int)data.Right, (int)data.Bottom);
        Assert.True(PlotPixels.HasColour(image, TrainingPlots.CosineHigh, upper) && !PlotPixels.HasColour(image, TrainingPlots.CosineHigh, lower));
        Assert.True(PlotPixels.HasColour(image, TrainingPlots.CosineLow, lower) && !PlotPixels.HasColour(image, TrainingPlots.CosineLow, upper));
    }

    [Fact]
    public void MovingAverage_IgnoresNaN_AndShrinksAtTheEnds()
    {
        Assert.Equal([2.0, 2.0, 3.5, 4.5, 4.5], MovingAverage.Centred([1, 3, double.NaN, 4, 5], 1));
        Assert.True(double.IsNaN(MovingAverage.Centred([1, double.NaN, double.NaN, double.NaN], 1)[2]));
    }
}
