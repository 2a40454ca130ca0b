namespace Engine.Reports;

/// <summary>
/// Makes DejaVu Sans (regular and bold, embedded in this assembly) ScottPlot's default font. SkiaSharp's NoDependencies
/// build resolves no system font, and ScottPlot then draws titles, labels and ticks as nothing; titles and axis
/// labels are bold, so the bold face must be registered too or only the ticks show.
/// </summary>
public static class PlotFonts
{
    public const string Family = "DejaVu Sans";
    private static readonly Lock Gate = new();
    private static bool _registered;

    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            string folder = Path.Combine(Path.GetTempPath(), "doco-fonts-" + Environment.ProcessId);
            Directory.CreateDirectory(folder);
            foreach (var (file, bold) in new[] { ("DejaVuSans.ttf", false), ("DejaVuSans-Bold.ttf", true) })
            {
                string path = Path.Combine(folder, file);
                using (var resource = typeof(PlotFonts).Assembly.GetManifestResourceStream("Engine.Reports.Fonts." + file)
                    ?? throw new InvalidOperationException($"embedded font {file} is missing from Engine.Reports"))
                using (var output = File.Create(path))
                    resource.CopyTo(output);
                ScottPlot.Fonts.AddFontFile(Family, path, bold: bold, italic: false);
            }
            ScottPlot.Fonts.Default = Family;
            _registered = true;
        }
    }
}
