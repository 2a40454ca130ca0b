using System.Buffers.Binary;
using System.IO.Compression;
using Engine.IO.Images;

namespace Engine.Tests.IO;

public class PngTests
{
    /// <summary>Decodes what Encode writes (filter 0 only) and checks every chunk's CRC: a round trip.</summary>
    internal static (int W, int H, byte[] Rgb) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, png[..8]);
        int pos = 8, w = 0, h = 0;
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Assert.Equal(Png.Crc32(data, Png.Crc32(png.AsSpan(pos + 4, 4), 0xFFFFFFFFu)) ^ 0xFFFFFFFFu, crc);
            if (type == "IHDR") { w = BinaryPrimitives.ReadInt32BigEndian(data); h = BinaryPrimitives.ReadInt32BigEndian(data[4..]); }
            if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            Assert.Equal(0, bytes[y * (w * 3 + 1)]);
            Array.Copy(bytes, y * (w * 3 + 1) + 1, rgb, y * w * 3, w * 3);
        }
        return (w, h, rgb);
    }

    [Fact]
    public void Crc32_KnownValue() => Assert.Equal(0xCBF43926u, Png.Crc32("123456789"u8, 0xFFFFFFFFu) ^ 0xFFFFFFFFu);

    [Fact]
    public void Encode_RoundTrips()
    {
        var rgb = new byte[7 * 5 * 3];
        new System.Random(1).NextBytes(rgb);
        var (w, h, back) = Decode(Png.Encode(rgb, 7, 5));
        Assert.Equal((7, 5), (w, h));
        Assert.Equal(rgb, back);
    }

    [Fact]
    public void Grid_PlacesTilesAndMapsRange()
    {
        // Two 1-channel 2×2 images: all -1 (black) and all +1 (white), side by side with a 1-pixel gap.
        float[] images = [-1, -1, -1, -1, 1, 1, 1, 1];
        var (rgb, width, height) = ImageGrid.Compose(images, 2, 1, 2, 2, columns: 2, gap: 1);
        Assert.Equal((5, 2), (width, height));
        Assert.Equal(0, rgb[0]);
        Assert.Equal(255, rgb[2 * 3]); // the gap is white
        Assert.Equal(255, rgb[3 * 3]);
    }

    [Fact]
    public void Save_IsAtomic_AndBadSizesThrow()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = Path.Combine(dir.FullName, "a.png");
            Png.Save(path, new byte[3], 1, 1);
            Assert.Single(Directory.GetFiles(dir.FullName));
            Assert.Throws<ArgumentException>(() => Png.Save(Path.Combine(dir.FullName, "b.png"), new byte[4], 1, 1));
            Assert.Single(Directory.GetFiles(dir.FullName));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
