using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Engine.Reports.Html;

/// <summary>
/// The ruler's before/after grid (grid.png) with its legend (grid.txt, written beside it by RulerReport.SaveGrid:
/// "left N: base, right N: erased; rows:" then one "Group: prompt" line per row). On the page the prompts stand beside
/// their rows and "base" / "erased" above their halves.
/// </summary>
public sealed partial record SampleGrid(PageImage Image, bool HasBase, IReadOnlyList<(string Group, string Prompt)> Rows)
{
    public const string ImageFile = "grid.png";
    public const string LegendFile = "grid.txt";

    /// <summary>The grid of a run folder, enlarged to about <paramref name="maxSide"/> pixels; null if the folder has none.</summary>
    public static SampleGrid? Load(string folder, int maxSide)
    {
        string png = Path.Combine(folder, ImageFile), txt = Path.Combine(folder, LegendFile);
        if (!File.Exists(png)) return null;
        var image = PageImage.Upscaled(png, maxSide);
        if (!File.Exists(txt)) return new SampleGrid(image, false, []);
        var lines = File.ReadAllLines(txt);
        var rows = new List<(string, string)>();
        bool hasBase = lines.Length > 0 && Header().IsMatch(lines[0]);
        if (lines.Length == 0 || !(hasBase || lines[0] == "rows:")) return new SampleGrid(image, false, []);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            rows.Add(colon < 0 ? ("", line) : (line[..colon], line[(colon + 2)..]));
        }
        return new SampleGrid(image, hasBase, rows);
    }

    /// <summary>The grid's markup; <paramref name="labels"/> false leaves out the prompts beside the rows.</summary>
    public string Html(string alt, bool labels = true)
    {
        var c = CultureInfo.InvariantCulture;
        bool beside = labels && Rows.Count > 0;
        var sb = new StringBuilder($"<div class=\"scroll\"><div class=\"grid{(beside ? "" : " alone")}\">");
        sb.Append(c, $"<div class=\"grid-head\" style=\"width:{Image.Width}px\">")
            .Append(HasBase ? "<span>base</span><span>erased</span>" : "<span>erased</span>").Append("</div>")
            .Append(beside ? "<div></div>" : "");
        sb.Append(Image.Tag(alt));
        if (beside)
        {
            // Equal bands of the image's height: a row's label sits within one gap of its row's centre.
            sb.Append(c, $"<ol class=\"grid-rows\" style=\"height:{Image.Height}px\">");
            foreach (var (group, prompt) in Rows)
            {
                var (tag, target) = Tag(group);
                sb.Append("<li style=\"flex:1 1 0\">")
                    .Append($"<span class=\"tag{(target ? " target" : "")}\">{HtmlPage.Encode(tag)}</span>")
                    .Append($"<span>{HtmlPage.Encode(prompt)}</span></li>");
            }
            sb.Append("</ol>");
        }
        return sb.Append("</div></div>\n").ToString();
    }

    /// <summary>The ruler's prompt group as a short tag, and whether its prompts name the erased concept.</summary>
    internal static (string Tag, bool Target) Tag(string group) => group switch
    {
        "InSet" => ("in-set", true),
        "OutOfSet" => ("out-of-set", true),
        "Close" => ("close", false),
        "Other" => ("other", false),
        _ => (group, false),
    };

    [GeneratedRegex(@"^left \d+: base, right \d+: erased; rows:$")]
    private static partial Regex Header();
}
