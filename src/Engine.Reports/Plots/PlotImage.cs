using Engine.IO;
using ScottPlot;
using SkiaSharp;

namespace Engine.Reports.Plots;

/// <summary>Draws panels into one white image and writes it as a PNG (atomically: no half-written file).</summary>
public static class PlotImage
{
    public static SKBitmap Render(int width, int height, IReadOnlyList<PlotPanel> panels)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        foreach (var p in panels)
        {
            // A plot clears the canvas to its background first: the clip keeps it off its neighbours.
            canvas.Save();
            canvas.ClipRect(new SKRect(p.Rect.Left, p.Rect.Top, p.Rect.Right, p.Rect.Bottom));
            p.Plot.Render(canvas, p.Rect);
            canvas.Restore();
        }
        return bitmap;
    }

    public static void Save(string path, int width, int height, params IReadOnlyList<PlotPanel> panels)
    {
        using var bitmap = Render(width, height, panels);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    /// <summary>
    /// Gives panels stacked in one column the same left and right margins (the widest each plot's own layout
    /// wants), so that their x axes line up; each keeps its own top and bottom margins.
    /// </summary>
    public static void AlignColumns(int width, int height, IReadOnlyList<PlotPanel> panels)
    {
        using (Render(width, height, panels)) { } // lays every plot out
        var margins = panels.Select(p => (Panel: p, Data: p.Plot.RenderManager.LastRender.DataRect)).ToList();
        float left = margins.Max(m => m.Data.Left - m.Panel.Rect.Left), right = margins.Max(m => m.Panel.Rect.Right - m.Data.Right);
        foreach (var (p, data) in margins)
            p.Plot.Layout.Fixed(new PixelPadding(left: left, right: right, bottom: p.Rect.Bottom - data.Bottom, top: data.Top - p.Rect.Top));
    }
}
