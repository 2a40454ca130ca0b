using Engine.IO;
using Engine.Reports.Html;

namespace Engine.Reports.Pages;

/// <summary>
/// report.html of `doco compare`: the comparison's tables (the Markdown that results.md holds, as HTML tables), the
/// Pareto plot, and every run's before/after grid with a link to that run's own report page. One file, offline.
/// </summary>
public static class CompareReport
{
    /// <summary>One run of the comparison: its title (method and seed) and its folder.</summary>
    public sealed record Run(string Title, string Folder);

    /// <param name="tablesMarkdown">ComparisonReport.Markdown: the heading line and the tables</param>
    public static string Write(string folder, string title, string tablesMarkdown, IReadOnlyList<Run> runs, RunCost cost)
    {
        string path = Path.Combine(folder, RunReport.FileName);
        AtomicFile.WriteAllText(path, Build(folder, title, tablesMarkdown, runs, cost));
        return path;
    }

    public static string Build(string folder, string title, string tablesMarkdown, IReadOnlyList<Run> runs, RunCost cost)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(cost);
        var page = new HtmlPage(title);
        page.Heading(1, title);
        var (_, bytes) = FolderSizes.Rows(folder, null, new Dictionary<string, string>(), RunReport.FileName);
        page.Paragraph($"{runs.Count} run{(runs.Count == 1 ? "" : "s")} · this command took {Units.Seconds(cost.CommandSeconds)} · peak memory (process RSS) "
            + (cost.PeakRssBytes > 0 ? Units.Bytes(cost.PeakRssBytes) : "not reported") + $" · {Units.Bytes(bytes)} in the folder", "subtitle");

        page.Raw("<section>");
        page.Heading(2, "Results");
        page.Raw(MarkdownBlocks.ToHtml(tablesMarkdown));
        page.Raw("</section>\n<section>");
        page.Heading(2, "Erasure against preservation");
        string pareto = Path.Combine(folder, "pareto.png");
        if (File.Exists(pareto))
            page.Raw("<div class=\"plots\">").Figure(PageImage.FromFile(pareto), "Pareto plot",
                "One point per method and seed, the base model in black. Good trade-offs sit top left: little of the concept left, close concepts kept.").Raw("</div>\n");
        else page.Note("No pareto.png in the folder.");
        page.Raw("</section>\n<section>");
        page.Heading(2, "Samples, before and after");
        SampleGrid? first = null;
        page.Raw("<div class=\"gallery\">\n");
        var missing = new List<string>();
        foreach (var run in runs)
        {
            var grid = SampleGrid.Load(run.Folder, maxSide: 540);
            if (grid is null) { missing.Add(run.Title); continue; }
            first ??= grid;
            string report = Path.Combine(run.Folder, RunReport.FileName);
            string href = string.Join('/', Path.GetRelativePath(folder, report).Split(Path.DirectorySeparatorChar).Select(Uri.EscapeDataString));
            string link = File.Exists(report) ? $" · <a href=\"{HtmlPage.Encode(href)}\">report</a>" : "";
            page.Raw($"<figure>{grid.Html($"{run.Title}: base left, erased right", labels: false)}<figcaption>{HtmlPage.Encode(run.Title)}{link}</figcaption></figure>\n");
        }
        page.Raw("</div>\n");
        if (first is not null)
        {
            page.Note((first.HasBase ? "In each grid the base model is on the left and the erased model on the right, same seeds. " : "")
                + (first.Image.Scale > 1 ? $"Enlarged ×{first.Image.Scale} with nearest neighbour. " : "") + "Rows, top to bottom:");
            page.Raw("<ol class=\"grid-rows inline\">" + string.Concat(first.Rows.Select(r =>
            {
                var (tag, target) = SampleGrid.Tag(r.Group);
                return $"<li><span class=\"tag{(target ? " target" : "")}\">{HtmlPage.Encode(tag)}</span><span>{HtmlPage.Encode(r.Prompt)}</span></li>";
            })) + "</ol>\n");
        }
        if (missing.Count > 0) page.Note($"No grid.png for: {string.Join(", ", missing)}.");
        page.Raw("</section>\n");
        return page.ToHtml();
    }
}
