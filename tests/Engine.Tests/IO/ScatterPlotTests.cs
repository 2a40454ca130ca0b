using Engine.IO.Images;

namespace Engine.Tests.IO;

/// <summary>The scatter plot behind compare's pareto.png: each point lands where its values say, NaN points are skipped.</summary>
public sealed class ScatterPlotTests
{
    [Fact]
    public void Points_LandAtTheirValues_InTheirColour()
    {
        var plot = new ScatterPlot { Title = "t", XLabel = "x", YLabel = "y", XMin = 0, XMax = 100, YMin = 0, YMax = 100 };
        plot.Series.Add(new ScatterSeries("a", [25, double.NaN], [75, 10], Palette.Red));
        var c = new Canvas(400, 300, Rgb.White);
        plot.Draw(c, 0, 0, 400, 300);
        // The plot area is the canvas less the axes' margins; (25, 75) is a quarter across and a quarter down.
        int w = 400 - Axes.Left - Axes.Right, h = 300 - Axes.Top - Axes.Bottom;
        int px = Axes.Left + (int)Math.Round(0.25 * (w - 1)), py = Axes.Top + h - 1 - (int)Math.Round(0.75 * (h - 1));
        Assert.Equal(Palette.Red, Pixel(c, px, py));
        // The NaN point draws nothing: no red in the area's lower tenth, left of the legend.
        for (int y = Axes.Top + h - h / 10; y < Axes.Top + h - 4; y++)
            for (int x = Axes.Left + 4; x < Axes.Left + w / 2; x++) Assert.NotEqual(Palette.Red, Pixel(c, x, y));
    }

    [Fact]
    public void MismatchedSeries_Throws()
    {
        var plot = new ScatterPlot();
        plot.Series.Add(new ScatterSeries("a", [1, 2], [1], Palette.Blue));
        Assert.Throws<ArgumentException>(() => plot.Draw(new Canvas(200, 150, Rgb.White), 0, 0, 200, 150));
    }

    private static Rgb Pixel(Canvas c, int x, int y)
    {
        int i = (y * c.Width + x) * 3;
        return new Rgb(c.Pixels[i], c.Pixels[i + 1], c.Pixels[i + 2]);
    }
}
