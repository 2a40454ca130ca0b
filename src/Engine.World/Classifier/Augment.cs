namespace Engine.World.Classifier;

/// <summary>
/// Distortions resembling what a small diffusion model makes of the world, so that the classifier reads generated
/// samples as well as renders: a small shift, a slight blur, brightness and contrast jitter, occasional partial
/// desaturation, and Gaussian noise. In place on one CHW image in [-1, 1]; deterministic in the generator.
/// </summary>
public static class Augment
{
    public static void Apply(Span<float> chw, int size, Random rng)
    {
        int plane = size * size;
        if (chw.Length != 3 * plane) throw new ArgumentException($"image holds {chw.Length} floats, expected 3×{size}×{size}");
        Span<float> tmp = stackalloc float[plane];
        int dx = rng.Next(-2, 3), dy = rng.Next(-2, 3);
        // Separable [k, 1−2k, k] blur with k up to 0.25 (a 3×3 box at the top end), applied half the time.
        float k = rng.NextDouble() < 0.5 ? 0.25f * rng.NextSingle() : 0f;
        for (int c = 0; c < 3; c++)
        {
            var p = chw.Slice(c * plane, plane);
            if (dx != 0 || dy != 0)
            {
                // Shift with the border pixel repeated, as the background extends past the canvas.
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        tmp[y * size + x] = p[Math.Clamp(y - dy, 0, size - 1) * size + Math.Clamp(x - dx, 0, size - 1)];
                tmp.CopyTo(p);
            }
            if (k > 0)
            {
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        tmp[y * size + x] = (1 - 2 * k) * p[y * size + x] + k * (p[y * size + Math.Max(x - 1, 0)] + p[y * size + Math.Min(x + 1, size - 1)]);
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        p[y * size + x] = (1 - 2 * k) * tmp[y * size + x] + k * (tmp[Math.Max(y - 1, 0) * size + x] + tmp[Math.Min(y + 1, size - 1) * size + x]);
            }
        }
        if (rng.NextDouble() < 0.15)
        {
            float f = 0.3f * rng.NextSingle();
            for (int i = 0; i < plane; i++)
            {
                float gray = 0.299f * chw[i] + 0.587f * chw[plane + i] + 0.114f * chw[2 * plane + i];
                for (int c = 0; c < 3; c++) chw[c * plane + i] += f * (gray - chw[c * plane + i]);
            }
        }
        float contrast = 0.8f + 0.4f * rng.NextSingle(), brightness = 0.2f * rng.NextSingle() - 0.1f;
        float sigma = 0.12f * rng.NextSingle();
        for (int i = 0; i < chw.Length; i++)
            chw[i] = Math.Clamp(chw[i] * contrast + brightness + sigma * Gaussian(rng), -1f, 1f);
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
