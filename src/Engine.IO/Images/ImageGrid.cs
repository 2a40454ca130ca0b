namespace Engine.IO.Images;

/// <summary>Tiles a batch of CHW float images into one RGB8 grid with a gap between tiles.</summary>
public static class ImageGrid
{
    /// <summary>
    /// images: [n, 3 (or 1), h, w] values in [lo, hi], mapped linearly to 0..255 and clamped.
    /// Returns the RGB bytes and the grid size; <paramref name="columns"/> ≤ 0 picks a near-square layout.
    /// </summary>
    public static (byte[] Rgb, int Width, int Height) Compose(ReadOnlySpan<float> images, int n, int channels, int h, int w,
        int columns = 0, int gap = 2, float lo = -1f, float hi = 1f)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"images must have 1 or 3 channels, not {channels}");
        if (images.Length != (long)n * channels * h * w) throw new ArgumentException($"{images.Length} values for {n} images of {channels}×{h}×{w}");
        int cols = columns > 0 ? columns : (int)Math.Ceiling(Math.Sqrt(n));
        int rows = (n + cols - 1) / cols;
        int width = cols * w + (cols - 1) * gap, height = rows * h + (rows - 1) * gap;
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        float scale = 255f / (hi - lo);
        for (int i = 0; i < n; i++)
        {
            int ox = i % cols * (w + gap), oy = i / cols * (h + gap);
            var img = images.Slice(i * channels * h * w, channels * h * w);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        float v = img[(channels == 1 ? 0 : c) * h * w + y * w + x];
                        float b = MathF.Round((v - lo) * scale);
                        rgb[((oy + y) * width + ox + x) * 3 + c] = (byte)Math.Clamp(float.IsNaN(b) ? 0 : b, 0, 255);
                    }
        }
        return (rgb, width, height);
    }
}
