using Engine.Reports;
using ScottPlot;
using SkiaSharp;

namespace Engine.Tests.Reports;

/// <summary>The shipped faces: both resolve, each at its weight, once however many threads register them.</summary>
public sealed class PlotFontsTests
{
    [Fact]
    public void BoldAndRegular_ResolveToTheShippedFaces()
    {
        PlotFonts.Register();
        // Titles and axis labels ask for bold: without a bold face they would fall back to a font with no glyphs.
        var bold = Fonts.GetTypeface(PlotFonts.Family, bold: true, italic: false);
        var regular = Fonts.GetTypeface(PlotFonts.Family, bold: false, italic: false);
        Assert.Equal(("DejaVu Sans", 700), (bold.FamilyName, bold.FontWeight));
        Assert.Equal(("DejaVu Sans", 400), (regular.FamilyName, regular.FontWeight));
        Assert.Equal(PlotFonts.Family, Fonts.Default);
        // Every character the plots write has a glyph in both faces.
        const string text = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ().,:;%_-+−×";
        using SKFont boldFont = new(bold), regularFont = new(regular);
        Assert.True(boldFont.ContainsGlyphs(text) && regularFont.ContainsGlyphs(text));
    }

    [Fact]
    public void Register_FromManyThreads_AddsOneResolver()
    {
        Parallel.For(0, 16, _ => PlotFonts.Register());
        Assert.Single(Fonts.FontResolvers, r => r is PlotFonts.EmbeddedFontResolver);
        Assert.IsType<PlotFonts.EmbeddedFontResolver>(Fonts.FontResolvers[0]);
    }
}
