using System.Buffers.Binary;
using System.IO.Compression;

namespace Engine.IO.Images;

/// <summary>
/// A minimal PNG decoder: 8-bit greyscale, RGB, greyscale+alpha and RGBA, not interlaced, every row filter. Enough to
/// read back the sample grids that <see cref="Png"/> writes and the plots a drawing library writes, with no native
/// image library. Alpha is composited onto white. Anything else (palette, 16-bit, interlaced, a bad CRC) is an
/// <see cref="InvalidDataException"/>.
/// </summary>
public static class PngReader
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>The image as width × height RGB pixels (row-major, 3 bytes each).</summary>
    public static (byte[] Rgb, int Width, int Height) Read(ReadOnlySpan<byte> png)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature)) throw new InvalidDataException("not a PNG file (no PNG signature)");
        int pos = 8, width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            if (pos + 12 > png.Length) throw new InvalidDataException("PNG file cut short (no IEND chunk)");
            int length = BinaryPrimitives.ReadInt32BigEndian(png[pos..]);
            if (length < 0 || pos + 12L + length > png.Length) throw new InvalidDataException("PNG chunk runs past the end of the file");
            var type = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, length);
            uint crc = Png.Crc32(data, Png.Crc32(type, 0xFFFFFFFFu)) ^ 0xFFFFFFFFu;
            if (crc != BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + length)..]))
                throw new InvalidDataException($"PNG chunk {System.Text.Encoding.ASCII.GetString(type)} has a bad CRC");
            if (type.SequenceEqual("IHDR"u8))
            {
                if (length != 13) throw new InvalidDataException("PNG IHDR chunk is not 13 bytes");
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                byte depth = data[8], colour = data[9], interlace = data[12];
                channels = colour switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 0 };
                if (depth != 8 || channels == 0 || interlace != 0 || data[10] != 0 || data[11] != 0)
                    throw new InvalidDataException($"PNG with bit depth {depth}, colour type {colour}, interlace {interlace}: only 8-bit greyscale, RGB, grey+alpha or RGBA, not interlaced, is read");
                if (width <= 0 || height <= 0 || (long)width * height > 1L << 28) throw new InvalidDataException($"PNG size {width}×{height} is out of range");
            }
            else if (type.SequenceEqual("IDAT"u8)) idat.Write(data);
            else if (type.SequenceEqual("IEND"u8)) ended = true;
            pos += 12 + length;
        }
        if (channels == 0) throw new InvalidDataException("PNG has no IHDR chunk");

        int stride = width * channels;
        var raw = new byte[(long)height * (stride + 1)];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            try { z.ReadExactly(raw); }
            catch (EndOfStreamException) { throw new InvalidDataException("PNG image data is shorter than its size"); }
        }
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
            Unfilter(raw[y * (stride + 1)], raw.AsSpan(y * (stride + 1) + 1, stride), y == 0 ? default : pixels.AsSpan((y - 1) * stride, stride),
                pixels.AsSpan(y * stride, stride), channels);
        return (ToRgb(pixels, width * height, channels), width, height);
    }

    /// <summary>Undoes one row's filter (PNG spec section 9): <paramref name="above"/> is empty for the first row.</summary>
    private static void Unfilter(byte filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> above, Span<byte> output, int bpp)
    {
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? output[i - bpp] : 0, b = above.IsEmpty ? 0 : above[i], c = i >= bpp && !above.IsEmpty ? above[i - bpp] : 0;
            int predicted = filter switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => Paeth(a, b, c),
                _ => throw new InvalidDataException($"PNG row filter {filter} is not one of 0-4"),
            };
            output[i] = (byte)(row[i] + predicted);
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static byte[] ToRgb(byte[] pixels, int count, int channels)
    {
        if (channels == 3) return pixels;
        var rgb = new byte[count * 3];
        for (int i = 0; i < count; i++)
        {
            var p = pixels.AsSpan(i * channels, channels);
            int alpha = channels is 2 or 4 ? p[channels - 1] : 255;
            for (int k = 0; k < 3; k++)
            {
                int v = channels <= 2 ? p[0] : p[k];
                rgb[i * 3 + k] = (byte)((v * alpha + 255 * (255 - alpha) + 127) / 255); // over white
            }
        }
        return rgb;
    }
}
