using System.Buffers.Binary;
using Engine.IO.Images;

namespace Engine.Reports.Html;

/// <summary>
/// A PNG carried inside the page as a data: URI, with the size it is shown at (CSS pixels). <see cref="Scale"/> &gt; 1
/// marks pixel art (32-pixel samples): those are upscaled with nearest neighbour in the file itself, so they stay sharp
/// in any viewer and when saved, and the page asks for <c>image-rendering: pixelated</c> as well.
/// </summary>
public sealed record PageImage(string DataUri, int Width, int Height, int Scale = 1)
{
    /// <summary>The file as it is (a plot): no decoding, only its size read from the PNG header.</summary>
    public static PageImage FromFile(string path)
    {
        byte[] png = File.ReadAllBytes(path);
        var (w, h) = HeaderSize(png, path);
        return new PageImage(DataUriOf(png), w, h);
    }

    /// <summary>
    /// The file enlarged by the largest whole factor (at most <paramref name="maxScale"/>) that keeps its longer side
    /// within <paramref name="maxSide"/> pixels, nearest neighbour. A PNG that <see cref="PngReader"/> cannot read is
    /// embedded as it is and enlarged by the browser alone (CSS size and pixelated rendering).
    /// </summary>
    public static PageImage Upscaled(string path, int maxSide, int maxScale = 8)
    {
        byte[] png = File.ReadAllBytes(path);
        var (w, h) = HeaderSize(png, path);
        int k = Math.Clamp(maxSide / Math.Max(w, h), 1, maxScale);
        try
        {
            var (rgb, _, _) = PngReader.Read(png);
            return new PageImage(DataUriOf(k == 1 ? png : Png.Encode(NearestNeighbour(rgb, w, h, k), w * k, h * k)), w * k, h * k, k);
        }
        catch (InvalidDataException)
        {
            return new PageImage(DataUriOf(png), w * k, h * k, k);
        }
    }

    /// <summary>Each pixel of a width × height RGB image becomes a k × k block.</summary>
    public static byte[] NearestNeighbour(ReadOnlySpan<byte> rgb, int width, int height, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (rgb.Length != width * height * 3) throw new ArgumentException($"{rgb.Length} bytes for a {width}×{height} RGB image");
        int outWidth = width * k;
        var output = new byte[rgb.Length * k * k];
        for (int y = 0; y < height; y++)
        {
            var row = output.AsSpan(y * k * outWidth * 3, outWidth * 3);
            for (int x = 0; x < width; x++)
                for (int dx = 0; dx < k; dx++)
                    rgb.Slice((y * width + x) * 3, 3).CopyTo(row[((x * k + dx) * 3)..]);
            for (int dy = 1; dy < k; dy++) row.CopyTo(output.AsSpan((y * k + dy) * outWidth * 3, outWidth * 3));
        }
        return output;
    }

    /// <summary>The &lt;img&gt; element; its width and height attributes keep the layout still while it decodes.</summary>
    public string Tag(string alt) =>
        $"<img src=\"{DataUri}\" width=\"{Width}\" height=\"{Height}\" alt=\"{HtmlPage.Encode(alt)}\"{(Scale > 1 ? " class=\"pixelated\"" : "")}>";

    private static string DataUriOf(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private static (int Width, int Height) HeaderSize(byte[] png, string path)
    {
        ReadOnlySpan<byte> signature = [137, 80, 78, 71, 13, 10, 26, 10];
        if (png.Length < 24 || !png.AsSpan(0, 8).SequenceEqual(signature) || !png.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            throw new InvalidDataException($"{path} is not a PNG file");
        int w = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), h = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        if (w <= 0 || h <= 0) throw new InvalidDataException($"{path}: PNG size {w}×{h}");
        return (w, h);
    }
}
