using Engine.Reports.Plots;
using Engine.World.Ruler;
using SkiaSharp;

namespace Engine.Tests.Reports;

/// <summary>pareto.png: size, points where the ruler measured, none where it did not, every text drawn.</summary>
public sealed class ParetoPlotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pareto-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RulerResult Ruler(double? inSet, double? synonyms, double? close) => new()
    {
        Concept = "cat",
        Kind = "object",
        Samples = 8,
        Prompts = 4,
        Base = new RulerMetrics { InSetErasure = 0.95, SynonymErasure = 0.9, PreservationClose = 0.97 },
        Erased = new RulerMetrics { InSetErasure = inSet, SynonymErasure = synonyms, PreservationClose = close },
    };

    /// <summary>Method 0 (blue) measured twice; method 1 (orange) never measured; method 2 (green) has no synonym metric.</summary>
    private static ComparisonRun[] Runs() =>
    [
        new("doco", "DoCo", 1, Ruler(0.10, 0.20, 0.80), 10, 0.6f),
        new("doco", "DoCo", 2, Ruler(0.15, double.NaN, 0.75), 11, 0.6f),
        new("ca", "Concept Ablation", 1, null, double.NaN, float.NaN),
        new("esd", "ESD-x", 1, Ruler(0.5, null, 0.5), 12, float.NaN),
    ];

    [Fact]
    public void Write_WithMissingRulersAndMetrics_DrawsTheMeasuredPointsOnly()
    {
        string path = Path.Combine(_dir, "pareto.png");
        ParetoPlot.Write(path, Runs());
        using var image = PlotPixels.Read(path);
        Assert.Equal((2 * ParetoPlot.PanelWidth, ParetoPlot.Height), (image.Width, image.Height));

        // Look where each point would be, from the plots' own axes (laid out as Write laid them out).
        var panels = ParetoPlot.Panels(Runs());
        using (PlotImage.Render(image.Width, image.Height, panels)) { }
        SKRectI At(int panel, double x, double y)
        {
            var plot = panels[panel].Plot;
            var data = plot.RenderManager.LastRender.DataRect;
            int px = (int)plot.Axes.Bottom.GetPixel(x, data), py = (int)plot.Axes.Left.GetPixel(y, data);
            return new SKRectI(px - 2, py - 2, px + 3, py + 3);
        }
        Assert.True(PlotPixels.HasColour(image, Charts.Blue, At(0, 10, 80)));
        Assert.True(PlotPixels.HasColour(image, Charts.Blue, At(0, 15, 75)));
        Assert.True(PlotPixels.HasColour(image, Charts.Blue, At(1, 20, 80)));
        Assert.True(PlotPixels.HasColour(image, ScottPlot.Colors.Black, At(1, 90, 97)), "no base model point");
        Assert.True(PlotPixels.HasColour(image, Charts.Green, At(0, 50, 50)));
        Assert.False(PlotPixels.HasColour(image, Charts.Green, At(1, 50, 50)), "ESD-x has no synonym metric, yet has a point");
    }

    [Fact]
    public void EveryTitle_AxisLabel_Tick_AndLegendEntry_IsDrawn()
    {
        var panels = ParetoPlot.Panels(Runs());
        // Base model and three methods in each panel's legend, the unmeasured one included.
        Assert.All(panels, p => Assert.Equal(4, p.Plot.Legend.GetItems().Length));
        PlotText.AssertAllDrawn(2 * ParetoPlot.PanelWidth, ParetoPlot.Height, panels);
        PlotText.AssertAllDrawn(2 * ParetoPlot.PanelWidth, ParetoPlot.Height, ParetoPlot.Panels([]));
    }
}
