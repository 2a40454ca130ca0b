using ScottPlot;
using SkiaSharp;

namespace Engine.Reports;

/// <summary>
/// Makes DejaVu Sans (regular and bold, embedded in this assembly) the font of every plot. SkiaSharp's NoDependencies
/// build resolves no system font, and ScottPlot then draws titles, labels and ticks as nothing; titles and axis
/// labels are bold, so a bold face must resolve too or only the ticks show. The faces are read from the assembly's
/// resources (no font files on disk) and served by a resolver placed ahead of ScottPlot's system-font one, so plots
/// look the same on every machine.
/// </summary>
public static class PlotFonts
{
    public const string Family = "DejaVu Sans";
    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Registers the faces once per process; safe to call from several threads and before every plot.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            var resolver = new EmbeddedFontResolver(Load("DejaVuSans.ttf"), Load("DejaVuSans-Bold.ttf"));
            // ScottPlot asks its resolvers in order and caches the answer; ours goes first.
            Fonts.FontResolvers.Insert(0, resolver);
            Fonts.Default = Family;
            Fonts.Sans = Family;
            _registered = true;
        }
    }

    private static SKTypeface Load(string file)
    {
        using var resource = typeof(PlotFonts).Assembly.GetManifestResourceStream("Engine.Reports.Fonts." + file)
            ?? throw new InvalidOperationException($"embedded font {file} is missing from Engine.Reports");
        using var data = SKData.Create(resource);
        return SKTypeface.FromData(data) ?? throw new InvalidOperationException($"embedded font {file} is not a font SkiaSharp can read");
    }

    /// <summary>
    /// Answers every request for <see cref="Family"/>: semi-bold and heavier get the bold face, the rest the regular
    /// one (there is no italic face; an italic request gets the upright one rather than no text).
    /// </summary>
    internal sealed class EmbeddedFontResolver(SKTypeface regularFace, SKTypeface boldFace) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            fontName == Family ? (weight >= FontWeight.SemiBold ? boldFace : regularFace) : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            CreateTypeface(fontName, bold ? FontWeight.Bold : FontWeight.Normal, FontSlant.Upright, FontSpacing.Normal);
    }
}
