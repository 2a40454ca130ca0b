using SkiaSharp;

namespace Engine.World;

/// <summary>
/// Draws scenes with Skia (anti-aliased paths) into CHW floats in [-1, 1], the pixel space the built-in model is
/// trained in. One renderer owns one bitmap and is not thread-safe; rendering is deterministic for a scene.
/// </summary>
public sealed class WorldRenderer : IDisposable
{
    private readonly SKBitmap _bitmap;
    private readonly SKCanvas _canvas;

    public int Size { get; }

    public WorldRenderer(int size = 32)
    {
        Size = size;
        _bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        _canvas = new SKCanvas(_bitmap);
    }

    public int ImageNumel => 3 * Size * Size;

    /// <summary>Renders into <paramref name="chw"/> ([3, Size, Size], values in [-1, 1]).</summary>
    public void Render(Scene s, Span<float> chw)
    {
        if (chw.Length != ImageNumel) throw new ArgumentException($"image buffer holds {chw.Length} floats, expected 3×{Size}×{Size}");
        var (br, bg, bb) = WorldVocabulary.BackgroundRgb[s.Background];
        var (r, g, b) = WorldVocabulary.ColourRgb[s.Colour];
        var background = new SKColor(br, bg, bb);
        var colour = new SKColor(r, g, b);
        _canvas.Clear(background);
        float radius = s.Size * Size / 2;
        using var path = ShapePath(WorldVocabulary.Shapes[s.Shape], radius);
        // Everything is drawn in the object's frame: centred on the origin, unrotated.
        _canvas.Save();
        _canvas.Translate(s.X, s.Y);
        _canvas.RotateDegrees(s.Rotation);

        using var fill = new SKPaint { IsAntialias = true, Color = colour, Style = SKPaintStyle.Fill };
        using var stroke = new SKPaint { IsAntialias = true, Color = colour, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(1.5f, Size / 16f) };
        switch (WorldVocabulary.Styles[s.Style])
        {
            case "plain":
                _canvas.DrawPath(path, fill);
                break;
            case "outline":
                _canvas.DrawPath(path, stroke);
                break;
            case "striped":
                // Bands across the shape, turned with it; the rim keeps the silhouette readable at 32 pixels.
                _canvas.Save();
                _canvas.ClipPath(path, SKClipOperation.Intersect, antialias: true);
                float period = Size / 8f;
                for (float y = -Size; y < Size; y += period)
                    _canvas.DrawRect(new SKRect(-Size, y, Size, y + period / 2), fill);
                _canvas.Restore();
                _canvas.DrawPath(path, stroke);
                break;
            case "dotted":
                _canvas.Save();
                _canvas.ClipPath(path, SKClipOperation.Intersect, antialias: true);
                float step = Size / 8f, dot = Size / 22f;
                for (float y = -Size + step / 2; y < Size; y += step)
                    for (float x = -Size + step / 2; x < Size; x += step)
                        _canvas.DrawCircle(x, y, dot, fill);
                _canvas.Restore();
                _canvas.DrawPath(path, stroke);
                break;
        }
        _canvas.Restore();
        _canvas.Flush();

        // Rgba8888 with opaque pixels: premultiplied equals straight colour.
        ReadOnlySpan<byte> px = _bitmap.GetPixelSpan();
        int plane = Size * Size;
        for (int i = 0; i < plane; i++)
        {
            chw[i] = px[4 * i] / 127.5f - 1f;
            chw[plane + i] = px[4 * i + 1] / 127.5f - 1f;
            chw[2 * plane + i] = px[4 * i + 2] / 127.5f - 1f;
        }
    }

    public float[] Render(Scene s)
    {
        var chw = new float[ImageNumel];
        Render(s, chw);
        return chw;
    }

    /// <summary>The outline of a shape of the given radius, centred on the origin.</summary>
    private static SKPath ShapePath(string shape, float r)
    {
        using var p = new SKPathBuilder();
        switch (shape)
        {
            case "circle":
                p.AddCircle(0, 0, r);
                break;
            case "ring":
                p.AddCircle(0, 0, r);
                p.AddCircle(0, 0, r * 0.55f, SKPathDirection.CounterClockwise);
                break;
            case "square":
                p.AddRect(new SKRect(-r * 0.8f, -r * 0.8f, r * 0.8f, r * 0.8f));
                break;
            case "diamond":
                p.AddPoly([new SKPoint(0, -r), new SKPoint(r * 0.7f, 0), new SKPoint(0, r), new SKPoint(-r * 0.7f, 0)]);
                break;
            case "triangle":
                p.AddPoly(Polygon(3, r, 0));
                break;
            case "star":
                var pts = new SKPoint[10];
                for (int i = 0; i < 10; i++)
                {
                    double a = -Math.PI / 2 + i * Math.PI / 5;
                    float rr = i % 2 == 0 ? r : r * 0.42f;
                    pts[i] = new SKPoint((float)(rr * Math.Cos(a)), (float)(rr * Math.Sin(a)));
                }
                p.AddPoly(pts);
                break;
            case "cross":
                float w = r * 0.32f;
                p.AddPoly([new(-w, -r), new(w, -r), new(w, -w), new(r, -w), new(r, w), new(w, w), new(w, r), new(-w, r), new(-w, w), new(-r, w), new(-r, -w), new(-w, -w)]);
                break;
            case "heart":
                p.MoveTo(0, r * 0.95f);
                p.CubicTo(-r * 1.3f, r * 0.05f, -r * 0.9f, -r * 1.05f, 0, -r * 0.45f);
                p.CubicTo(r * 0.9f, -r * 1.05f, r * 1.3f, r * 0.05f, 0, r * 0.95f);
                p.Close();
                break;
            default:
                throw new ArgumentException($"unknown shape '{shape}'");
        }
        return p.Detach();
    }

    private static SKPoint[] Polygon(int n, float r, double phase)
    {
        var pts = new SKPoint[n];
        for (int i = 0; i < n; i++)
        {
            double a = -Math.PI / 2 + phase + i * 2 * Math.PI / n;
            pts[i] = new SKPoint((float)(r * Math.Cos(a)), (float)(r * Math.Sin(a) + r * 0.15));
        }
        return pts;
    }

    public void Dispose()
    {
        _canvas.Dispose();
        _bitmap.Dispose();
    }
}
