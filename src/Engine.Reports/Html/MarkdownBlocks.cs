using System.Text;
using System.Text.RegularExpressions;

namespace Engine.Reports.Html;

/// <summary>
/// The little Markdown the project's own reports are written in (ComparisonReport.Markdown, ruler.md) as HTML:
/// pipe tables (alignment from the `---:` row), paragraphs, `code` and **bold**. So a page shows the same tables as
/// the .md file beside it, computed once. Text is encoded first; nothing else of Markdown is interpreted.
/// </summary>
public static partial class MarkdownBlocks
{
    public static string ToHtml(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var sb = new StringBuilder();
        var block = new List<string>();
        foreach (var line in markdown.ReplaceLineEndings("\n").Split('\n').Append(""))
        {
            if (line.Trim().Length > 0 && (block.Count == 0 || IsTableLine(line) == IsTableLine(block[0])))
            {
                block.Add(line);
                continue;
            }
            if (block.Count > 0) sb.Append(IsTableLine(block[0]) ? Table(block) : $"<p>{Inline(string.Join(' ', block.Select(l => l.Trim())))}</p>\n");
            block.Clear();
            if (line.Trim().Length > 0) block.Add(line);
        }
        return sb.ToString();
    }

    private static bool IsTableLine(string line) => line.TrimStart().StartsWith('|');

    private static string Table(List<string> lines)
    {
        var rows = lines.Select(Cells).ToList();
        bool aligned = rows.Count > 1 && rows[1].All(c => AlignCell().IsMatch(c));
        var right = aligned ? rows[1].Select(c => c.EndsWith(':')).ToList() : [];
        var sb = new StringBuilder("<div class=\"scroll\"><table>\n<thead><tr>");
        string Align(int i) => i < right.Count && right[i] ? " class=\"num\"" : "";
        for (int i = 0; i < rows[0].Count; i++) sb.Append($"<th{Align(i)}>{Inline(rows[0][i])}</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in rows.Skip(aligned ? 2 : 1))
        {
            sb.Append("<tr>");
            for (int i = 0; i < row.Count; i++) sb.Append($"<td{Align(i)}>{Inline(row[i])}</td>");
            sb.Append("</tr>\n");
        }
        return sb.Append("</tbody></table></div>\n").ToString();
    }

    /// <summary>The cells of "| a | b |" (the outer pipes are optional in Markdown; ours always write them).</summary>
    private static List<string> Cells(string line)
    {
        string t = line.Trim();
        if (t.StartsWith('|')) t = t[1..];
        if (t.EndsWith('|')) t = t[..^1];
        return [.. t.Split('|').Select(c => c.Trim())];
    }

    private static string Inline(string text)
    {
        string html = HtmlPage.Encode(text);
        html = Code().Replace(html, "<code>$1</code>");
        return Bold().Replace(html, "<strong>$1</strong>");
    }

    [GeneratedRegex(@"^:?-{3,}:?$")]
    private static partial Regex AlignCell();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex Code();

    [GeneratedRegex(@"\*\*(.+?)\*\*")]
    private static partial Regex Bold();
}
