using System.Globalization;

namespace Engine.Reports.Pages;

/// <summary>Sizes and durations as people read them.</summary>
internal static class Units
{
    public static string Bytes(long bytes)
    {
        var c = CultureInfo.InvariantCulture;
        if (bytes < 1024) return string.Create(c, $"{bytes} B");
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return string.Create(c, $"{v:0.0} {units[u]}");
    }

    public static string Seconds(double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        if (!double.IsFinite(seconds) || seconds < 0) return "–";
        if (seconds < 60) return string.Create(c, $"{seconds:0.0} s");
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? string.Create(c, $"{(int)t.TotalHours} h {t.Minutes} min {t.Seconds} s") : string.Create(c, $"{t.Minutes} min {t.Seconds} s");
    }

    public static string Percent(double? share) => share is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * share.Value:0.0} %");
}
