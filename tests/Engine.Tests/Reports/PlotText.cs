using Engine.Reports;
using Engine.Reports.Plots;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using SkiaSharp;

namespace Engine.Tests.Reports;

/// <summary>
/// Checks that every piece of text of a plot image is drawn, in the shipped font: titles, axis labels, tick labels,
/// legend entries, colour-bar labels and annotations. A text is drawn when making it transparent (which leaves the
/// layout as it was) changes pixels: of the image for a title or label, of the band around each tick's position
/// for tick labels (hidden an axis at a time). With no usable font, ScottPlot lays text out and draws nothing, and
/// hiding it changes nothing.
/// </summary>
internal static class PlotText
{
    /// <summary>Fewer changed pixels than this is not a glyph (a one-character label changes dozens).</summary>
    private const int MinInk = 6;

    /// <summary>Half the width of the band checked around a tick: it cuts through the middle of the label.</summary>
    private const int TickBand = 4;

    /// <summary>Asserts every text of the panels is drawn; returns how many texts were checked.</summary>
    public static int AssertAllDrawn(int width, int height, IReadOnlyList<PlotPanel> panels)
    {
        // Legend items are made afresh at every render; fixed copies can be hidden one by one.
        foreach (var p in panels)
        {
            var items = p.Plot.Legend.GetItems();
            p.Plot.Legend.DisplayPlottableLegendItems = false;
            p.Plot.Legend.ManualItems = [.. items];
        }
        using var baseline = PlotImage.Render(width, height, panels);
        int checkedTexts = 0;
        foreach (var (what, style) in panels.SelectMany(p => Labels(p.Plot)))
        {
            Assert.True(style.FontName == PlotFonts.Family, $"{what} '{style.Text}' is set in '{style.FontName}', not the shipped {PlotFonts.Family}");
            int ink = Hidden(width, height, panels, baseline, style, new SKRectI(0, 0, width, height)).Single();
            Assert.True(ink >= MinInk, $"{what} '{style.Text}' is not drawn ({ink} pixels change when it is hidden)");
            checkedTexts++;
        }
        foreach (var p in panels)
            foreach (var (axis, along) in Axes(p.Plot))
            {
                Assert.True(axis.TickLabelStyle.FontName == PlotFonts.Family, $"{axis} tick labels are set in '{axis.TickLabelStyle.FontName}'");
                var data = p.Plot.RenderManager.LastRender.DataRect;
                var ticks = axis.TickGenerator.Ticks.Where(t => t.IsMajor && t.Label.Length > 0 && t.Position >= Math.Min(axis.Min, axis.Max) && t.Position <= Math.Max(axis.Min, axis.Max)).ToArray();
                Assert.True(ticks.Length > 0, $"{axis}: no labelled tick");
                var bands = ticks.Select(t => Band(axis.GetPixel(t.Position, data), along, p.Rect)).ToArray();
                var inks = Hidden(width, height, panels, baseline, axis.TickLabelStyle, bands);
                for (int i = 0; i < ticks.Length; i++)
                    Assert.True(inks[i] >= MinInk, $"{axis}: tick label '{ticks[i].Label}' is not drawn ({inks[i]} pixels change when it is hidden)");
                checkedTexts += ticks.Length;
            }
        return checkedTexts;
    }

    /// <summary>Titles, axis labels, legend entries, colour-bar labels and annotations that have text.</summary>
    private static IEnumerable<(string What, LabelStyle Style)> Labels(Plot plot)
    {
        yield return ("title", plot.Axes.Title.Label);
        foreach (var axis in plot.Axes.GetAxes())
            if (axis.Label.Text.Length > 0) yield return ($"{axis} label", axis.Label);
        foreach (var item in plot.Legend.ManualItems) yield return ("legend entry", item.LabelStyle);
        foreach (var bar in plot.Axes.GetPanels().OfType<ColorBar>())
            if (bar.Label.Length > 0) yield return ("colour bar label", bar.LabelStyle);
        foreach (var note in plot.GetPlottables<Annotation>()) yield return ("annotation", note.LabelStyle);
    }

    /// <summary>The axes that show tick labels, and whether they run along x.</summary>
    private static IEnumerable<(IAxis Axis, bool AlongX)> Axes(Plot plot)
    {
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
            yield return (axis, axis == plot.Axes.Bottom);
        foreach (var bar in plot.Axes.GetPanels().OfType<ColorBar>())
            yield return (bar.Axis, bar.Edge is Edge.Bottom or Edge.Top);
    }

    private static SKRectI Band(float pixel, bool alongX, PixelRect panel) => alongX
        ? new SKRectI((int)pixel - TickBand, (int)panel.Top, (int)pixel + TickBand + 1, (int)panel.Bottom)
        : new SKRectI((int)panel.Left, (int)pixel - TickBand, (int)panel.Right, (int)pixel + TickBand + 1);

    /// <summary>How many pixels of each region change when the style's text is made transparent.</summary>
    private static int[] Hidden(int width, int height, IReadOnlyList<PlotPanel> panels, SKBitmap baseline, LabelStyle style, params SKRectI[] regions)
    {
        var colour = style.ForeColor;
        style.ForeColor = Colors.Transparent;
        try
        {
            using var hidden = PlotImage.Render(width, height, panels);
            return [.. regions.Select(r => Changed(baseline, hidden, r))];
        }
        finally
        {
            style.ForeColor = colour;
        }
    }

    private static int Changed(SKBitmap a, SKBitmap b, SKRectI region)
    {
        int n = 0;
        for (int y = Math.Max(0, region.Top); y < Math.Min(a.Height, region.Bottom); y++)
            for (int x = Math.Max(0, region.Left); x < Math.Min(a.Width, region.Right); x++)
                if (a.GetPixel(x, y) != b.GetPixel(x, y)) n++;
        return n;
    }
}
