using SkiaSharp;

namespace Engine.Tests.Reports;

/// <summary>Reading written plots back: decode a PNG, look for a colour in a region.</summary>
internal static class PlotPixels
{
    public static SKBitmap Read(string path) => SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path} is not an image SkiaSharp can decode");

    /// <summary>Whether some pixel of the region (the whole image when null) is the colour, within 2 per channel.</summary>
    public static bool HasColour(SKBitmap image, ScottPlot.Color colour, SKRectI? region = null)
    {
        var r = region ?? new SKRectI(0, 0, image.Width, image.Height);
        for (int y = Math.Max(0, r.Top); y < Math.Min(image.Height, r.Bottom); y++)
            for (int x = Math.Max(0, r.Left); x < Math.Min(image.Width, r.Right); x++)
            {
                var p = image.GetPixel(x, y);
                if (Math.Abs(p.Red - colour.R) <= 2 && Math.Abs(p.Green - colour.G) <= 2 && Math.Abs(p.Blue - colour.B) <= 2) return true;
            }
        return false;
    }
}
