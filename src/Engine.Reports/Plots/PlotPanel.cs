using ScottPlot;

namespace Engine.Reports.Plots;

/// <summary>One plot and the rectangle of the image it is drawn into (several panels make one PNG).</summary>
public readonly record struct PlotPanel(Plot Plot, PixelRect Rect)
{
    public PlotPanel(Plot plot, int left, int top, int width, int height) : this(plot, new PixelRect(new Pixel(left, top), width, height)) { }
}
