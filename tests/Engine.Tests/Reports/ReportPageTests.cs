using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Engine.IO.Images;
using Engine.Reports.Html;
using Engine.Reports.Pages;

namespace Engine.Tests.Reports;

/// <summary>
/// The report page from a run folder assembled from pieces: text is escaped, what is missing is said, the grid is
/// enlarged with nearest neighbour and embedded, and nothing is fetched from outside the page. Also the PNG reader
/// the enlargement rests on, against PNGs written with every row filter and with alpha.
/// </summary>
public sealed partial class ReportPageTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("report-page-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static readonly RunCost Cost = new(12.5, 300L << 20, "cpu (2 threads)");

    private void WriteManifest(string concept, string anchor) =>
        File.WriteAllText(Path.Combine(_dir.FullName, "manifest.json"), new JsonObject
        {
            ["method"] = "doco",
            ["concept"] = concept,
            ["anchor"] = anchor,
            ["type"] = "object",
            ["hyperparameters"] = new JsonObject { ["LearningRate"] = 1e-5, ["Surgery"] = "Projection", ["SurgerySpec"] = new JsonObject { ["Lambda"] = 1 } },
            ["seed"] = 42,
            ["steps"] = 3,
            ["skipped_steps"] = 0,
            ["wall_seconds"] = 1.5,
            ["peak_memory_bytes"] = 1L << 28,
            ["changed_tensors"] = new JsonArray("mid_block.attn2.to_k.weight"),
            ["files"] = new JsonObject(),
        }.ToJsonString());

    [Fact]
    public void Text_IsEscaped_AndMissingPiecesAreNoted()
    {
        WriteManifest("<b>star</b>", "a & \"b\"");
        string html = RunReport.Build(_dir.FullName, Cost);
        Assert.DoesNotContain("<b>star</b>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;star&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("a &amp; &quot;b&quot;", html, StringComparison.Ordinal);
        Assert.Contains("No ruler.json", html, StringComparison.Ordinal);
        Assert.Contains("No grid.png", html, StringComparison.Ordinal);
        Assert.Contains("Not in the folder: losses.png, discriminator.png, surgery.png, timesteps.png.", html, StringComparison.Ordinal);
        Assert.Contains("SurgerySpec.Lambda", html, StringComparison.Ordinal);
        Assert.Contains("12.5 s", html, StringComparison.Ordinal);
        Assert.Contains("300.0 MiB", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Grid_IsEnlargedWithNearestNeighbour_AndEmbedded_WithItsPromptsBesideTheRows()
    {
        WriteManifest("star", "circle");
        // A 66 × 270 grid, the quick ruler's size: random pixels, so every enlarged block must copy one source pixel.
        var rgb = new byte[66 * 270 * 3];
        new Random(7).NextBytes(rgb);
        Png.Save(Path.Combine(_dir.FullName, "grid.png"), rgb, 66, 270);
        File.WriteAllText(Path.Combine(_dir.FullName, "grid.txt"), "left 1: base, right 1: erased; rows:\nInSet: a red star\nOther: a <blue> circle\n");
        Png.Save(Path.Combine(_dir.FullName, "losses.png"), new byte[8 * 4 * 3], 8, 4);
        string html = File.ReadAllText(RunReport.Write(_dir.FullName, Cost));

        var grid = ImgTag().Matches(html).Single(m => m.Groups["alt"].Value.StartsWith("before/after", StringComparison.Ordinal));
        int k = 1000 / 270;
        Assert.Equal((66 * k).ToString(System.Globalization.CultureInfo.InvariantCulture), grid.Groups["w"].Value);
        Assert.Contains("class=\"pixelated\"", grid.Value, StringComparison.Ordinal);
        var (big, w, h) = PngReader.Read(Convert.FromBase64String(grid.Groups["data"].Value));
        Assert.Equal((66 * k, 270 * k), (w, h));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    if (big[(y * w + x) * 3 + c] != rgb[(y / k * 66 + x / k) * 3 + c]) Assert.Fail($"pixel ({x}, {y}) is not source pixel ({x / k}, {y / k})");

        Assert.Contains("<span>base</span><span>erased</span>", html, StringComparison.Ordinal);
        Assert.Contains("a &lt;blue&gt; circle", html, StringComparison.Ordinal);
        Assert.Contains(">in-set<", html, StringComparison.Ordinal);
        Assert.Contains("Not in the folder: discriminator.png, surgery.png, timesteps.png.", html, StringComparison.Ordinal);
        // Self-contained: every image is inline, and no attribute points anywhere else.
        Assert.All(ImgTag().Matches(html), m => Assert.StartsWith("data:image/png;base64,", m.Groups["src"].Value, StringComparison.Ordinal));
        Assert.DoesNotMatch(@"(src|href)=""(https?:|//)", html);
    }

    [Fact]
    public void AFolderWithoutManifest_IsNotAFinishedRun()
    {
        var e = Assert.Throws<FileNotFoundException>(() => RunReport.Write(_dir.FullName, Cost));
        Assert.Contains("manifest.json", e.Message, StringComparison.Ordinal);
        Assert.Empty(_dir.GetFiles());
    }

    [Fact]
    public void NearestNeighbour_MakesEachPixelABlock()
    {
        byte[] rgb = [1, 2, 3, 4, 5, 6]; // 2 × 1
        var big = PageImage.NearestNeighbour(rgb, 2, 1, 2);
        Assert.Equal(new byte[] { 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6 }, big);
    }

    [Fact]
    public void MarkdownTables_BecomeHtmlTables_WithTheirAlignment_AndTextEscaped()
    {
        string html = MarkdownBlocks.ToHtml("Erase `star` from <the> model.\n\n| method | in-set ↓ |\n|---|---:|\n| DoCo & co | 26.4 ± 8.7 |\n");
        Assert.Contains("<p>Erase <code>star</code> from &lt;the&gt; model.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<th>method</th><th class=\"num\">in-set ↓</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td>DoCo &amp; co</td><td class=\"num\">26.4 ± 8.7</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("---", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 3)] // RGB
    [InlineData(6, 4)] // RGBA, composited onto white
    [InlineData(0, 1)] // grey
    [InlineData(4, 2)] // grey + alpha
    public void PngReader_UndoesEveryRowFilter(byte colourType, int channels)
    {
        const int W = 7, H = 10;
        var pixels = new byte[W * H * channels];
        new Random(colourType).NextBytes(pixels);
        var (rgb, w, h) = PngReader.Read(EncodeFiltered(pixels, W, H, colourType, channels));
        Assert.Equal((W, H), (w, h));
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++)
            {
                int v = pixels[i * channels + (channels <= 2 ? 0 : c)];
                int a = channels is 2 or 4 ? pixels[i * channels + channels - 1] : 255;
                Assert.Equal((v * a + 255 * (255 - a) + 127) / 255, rgb[i * 3 + c]);
            }
    }

    [Fact]
    public void PngReader_RefusesWhatItCannotRead()
    {
        var png = Png.Encode(new byte[3 * 2 * 2], 2, 2);
        png[^1] ^= 1; // IEND's CRC
        Assert.Contains("bad CRC", Assert.Throws<InvalidDataException>(() => PngReader.Read(png)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => PngReader.Read("not a png"u8));
        var sixteenBit = Png.Encode(new byte[3], 1, 1);
        sixteenBit[8 + 8 + 8] = 16; // IHDR bit depth
        FixCrc(sixteenBit, 8);
        Assert.Contains("bit depth 16", Assert.Throws<InvalidDataException>(() => PngReader.Read(sixteenBit)).Message, StringComparison.Ordinal);
    }

    /// <summary>A PNG whose row y uses filter y mod 5 (none, sub, up, average, Paeth), filtered as the PNG spec says.</summary>
    private static byte[] EncodeFiltered(byte[] pixels, int width, int height, byte colourType, int bpp)
    {
        int stride = width * bpp;
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
            for (int y = 0; y < height; y++)
            {
                int filter = y % 5;
                z.WriteByte((byte)filter);
                for (int i = 0; i < stride; i++)
                {
                    int x = pixels[y * stride + i];
                    int a = i >= bpp ? pixels[y * stride + i - bpp] : 0, b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
                    int c = i >= bpp && y > 0 ? pixels[(y - 1) * stride + i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    int predicted = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c };
                    z.WriteByte((byte)(x - predicted));
                }
            }
        using var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = colourType;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
        s.Write(head);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Png.Crc32(data, Png.Crc32(head.AsSpan(4), 0xFFFFFFFFu)) ^ 0xFFFFFFFFu);
        s.Write(crc);
    }

    /// <summary>Recomputes the CRC of the chunk that starts at <paramref name="at"/> after its data was edited.</summary>
    private static void FixCrc(byte[] png, int at)
    {
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
        uint crc = Png.Crc32(png.AsSpan(at + 8, length), Png.Crc32(png.AsSpan(at + 4, 4), 0xFFFFFFFFu)) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(at + 8 + length), crc);
    }

    [GeneratedRegex("<img src=\"(?<src>data:image/png;base64,(?<data>[A-Za-z0-9+/=]+)|[^\"]*)\" width=\"(?<w>\\d+)\" height=\"\\d+\" alt=\"(?<alt>[^\"]*)\"[^>]*>")]
    private static partial Regex ImgTag();
}
