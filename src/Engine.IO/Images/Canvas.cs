namespace Engine.IO.Images;

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255), Black = new(0, 0, 0), Grid = new(225, 225, 225), Axis = new(60, 60, 60);

    /// <summary>The colour a fraction t of the way from a to b.</summary>
    public static Rgb Lerp(Rgb a, Rgb b, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new((byte)Math.Round(a.R + (b.R - a.R) * t), (byte)Math.Round(a.G + (b.G - a.G) * t), (byte)Math.Round(a.B + (b.B - a.B) * t));
    }
}

/// <summary>
/// A small raster surface for plots: filled rectangles, anti-aliased polylines and 5×7 bitmap text, saved with
/// <see cref="Png"/>. Drawing outside the canvas (or the given clip rectangle) is silently cut off.
/// </summary>
public sealed class Canvas
{
    public Canvas(int width, int height, Rgb background)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"canvas size {width}×{height} must be positive");
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>Row-major RGB bytes, as <see cref="Png.Encode"/> takes them.</summary>
    public byte[] Pixels { get; }

    public void Save(string path) => Png.Save(path, Pixels, Width, Height);

    /// <summary>Mixes colour c into pixel (x, y) with opacity alpha in [0, 1].</summary>
    public void Blend(int x, int y, Rgb c, float alpha)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || !(alpha > 0)) return;
        alpha = Math.Min(alpha, 1f);
        int i = (y * Width + x) * 3;
        Pixels[i] = (byte)(Pixels[i] + (c.R - Pixels[i]) * alpha + 0.5f);
        Pixels[i + 1] = (byte)(Pixels[i + 1] + (c.G - Pixels[i + 1]) * alpha + 0.5f);
        Pixels[i + 2] = (byte)(Pixels[i + 2] + (c.B - Pixels[i + 2]) * alpha + 0.5f);
    }

    public void FillRect(int x, int y, int w, int h, Rgb c)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(Width, x + w), y1 = Math.Min(Height, y + h);
        for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++)
            {
                int i = (yy * Width + xx) * 3;
                Pixels[i] = c.R;
                Pixels[i + 1] = c.G;
                Pixels[i + 2] = c.B;
            }
    }

    /// <summary>A 1-px rectangle outline whose outer edge is (x, y, w, h).</summary>
    public void StrokeRect(int x, int y, int w, int h, Rgb c)
    {
        FillRect(x, y, w, 1, c);
        FillRect(x, y + h - 1, w, 1, c);
        FillRect(x, y, 1, h, c);
        FillRect(x + w - 1, y, 1, h, c);
    }

    /// <summary>
    /// An anti-aliased polyline through (xs[i], ys[i]) in pixel coordinates (pixel centres at +0.5), broken wherever a
    /// coordinate is NaN; an isolated point becomes a dot. Coverage is the distance from each pixel centre to the nearest
    /// segment, kept as a per-pixel maximum, so joints are not painted twice and a line looks the same at every angle.
    /// </summary>
    public void Polyline(ReadOnlySpan<double> xs, ReadOnlySpan<double> ys, Rgb c, double width, (int X, int Y, int W, int H) clip)
    {
        if (xs.Length != ys.Length) throw new ArgumentException($"{xs.Length} x values for {ys.Length} y values");
        int cx0 = Math.Max(0, clip.X), cy0 = Math.Max(0, clip.Y), cx1 = Math.Min(Width, clip.X + clip.W), cy1 = Math.Min(Height, clip.Y + clip.H);
        if (cx0 >= cx1 || cy0 >= cy1) return;
        int cw = cx1 - cx0;
        var coverage = new float[cw * (cy1 - cy0)];
        double half = width / 2;
        for (int i = 0; i < xs.Length; i++)
        {
            if (!Finite(xs[i], ys[i])) continue;
            bool hasNext = i + 1 < xs.Length && Finite(xs[i + 1], ys[i + 1]);
            bool hasPrev = i > 0 && Finite(xs[i - 1], ys[i - 1]);
            if (hasNext) Segment(xs[i], ys[i], xs[i + 1], ys[i + 1]);
            else if (!hasPrev) Segment(xs[i], ys[i], xs[i], ys[i]); // a lone point
        }
        for (int y = cy0; y < cy1; y++)
            for (int x = cx0; x < cx1; x++)
                Blend(x, y, c, coverage[(y - cy0) * cw + x - cx0]);

        void Segment(double ax, double ay, double bx, double by)
        {
            double r = Math.Max(half, 1.0) + 1;
            int x0 = Math.Max(cx0, (int)Math.Floor(Math.Min(ax, bx) - r)), x1 = Math.Min(cx1, (int)Math.Ceiling(Math.Max(ax, bx) + r));
            int y0 = Math.Max(cy0, (int)Math.Floor(Math.Min(ay, by) - r)), y1 = Math.Min(cy1, (int)Math.Ceiling(Math.Max(ay, by) + r));
            double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                {
                    double px = x + 0.5 - ax, py = y + 0.5 - ay;
                    double t = len2 > 0 ? Math.Clamp((px * dx + py * dy) / len2, 0, 1) : 0;
                    double ex = px - t * dx, ey = py - t * dy;
                    // A pixel is a unit box: full inside the half-width, fading out over one pixel at the edge.
                    float cov = (float)Math.Clamp(half + 0.5 - Math.Sqrt(ex * ex + ey * ey), 0, 1);
                    ref float slot = ref coverage[(y - cy0) * cw + x - cx0];
                    if (cov > slot) slot = cov;
                }
        }
    }

    /// <summary>Text in the 5×7 font with its top-left corner at (x, y); each glyph advances 6 × scale pixels.</summary>
    public void Text(int x, int y, string s, Rgb c, int scale = 1)
    {
        foreach (char ch in s)
        {
            var rows = BitmapFont.Glyph(ch);
            for (int r = 0; r < BitmapFont.GlyphHeight; r++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if ((rows[r] >> (BitmapFont.GlyphWidth - 1 - col) & 1) != 0) FillRect(x + col * scale, y + r * scale, scale, scale, c);
            x += BitmapFont.Advance * scale;
        }
    }

    /// <summary>Text rotated a quarter turn counter-clockwise (reads bottom to top), its top-left corner at (x, y).</summary>
    public void TextVertical(int x, int y, string s, Rgb c, int scale = 1)
    {
        int bottom = y + TextWidth(s, scale);
        foreach (char ch in s)
        {
            var rows = BitmapFont.Glyph(ch);
            for (int r = 0; r < BitmapFont.GlyphHeight; r++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if ((rows[r] >> (BitmapFont.GlyphWidth - 1 - col) & 1) != 0) FillRect(x + r * scale, bottom - (col + 1) * scale, scale, scale, c);
            bottom -= BitmapFont.Advance * scale;
        }
    }

    public static int TextWidth(string s, int scale = 1) => s.Length == 0 ? 0 : (s.Length * BitmapFont.Advance - 1) * scale;

    private static bool Finite(double x, double y) => double.IsFinite(x) && double.IsFinite(y);
}
