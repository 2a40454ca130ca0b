using Engine.IO.Images;
using Engine.Tests.Cli;
using Xunit.Abstractions;

namespace Engine.Tests.Reports;

/// <summary>
/// The report pages in a real browser (headless Chromium over the DevTools protocol): a quick `doco erase` on the
/// built-in model and a `doco compare --report-only` over it write their report.html, and each page loads with no
/// console error, exception or error log entry, fetches nothing outside itself, and decodes every image. The
/// screenshots are kept in artifacts/test-results/ beside the test results. A broken page shows the checker can fail.
/// </summary>
public sealed class ReportPageBrowserTests(ReportPageBrowserTests.QuickErase erase, ITestOutputHelper log) : IClassFixture<ReportPageBrowserTests.QuickErase>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private static readonly string? Chromium = HeadlessChromium.Find();
    private const string NoChromium = "chromium not found on PATH (build.ps1 setup installs Debian's chromium package)";

    /// <summary>One `doco erase --quick` for the tests of this class, run when the first of them needs it.</summary>
    public sealed class QuickErase : IDisposable
    {
        private readonly Lazy<string> _folder;

        public QuickErase()
        {
            _folder = new Lazy<string>(() =>
            {
                string folder = Path.Combine(Root, "erase");
                var (code, output, error) = Doco.Run("erase", "--quick", "--out", folder);
                Assert.True(code == 0, $"doco erase --quick: exit {code}\n{output}\n{error}");
                Assert.Contains("report.html", output, StringComparison.Ordinal);
                return folder;
            });
        }

        public string Root { get; } = Path.Combine(Path.GetTempPath(), "report-browser-" + Guid.NewGuid().ToString("N"));

        public string Folder => _folder.Value;

        public void Dispose()
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        }
    }

    [SkippableFact]
    public async Task EraseReport_LoadsCleanly_WithEveryImageDecoded()
    {
        Skip.If(Chromium is null, NoChromium);
        string page = Path.Combine(erase.Folder, "report.html");
        string html = await File.ReadAllTextAsync(page);
        var check = await PageCheck.RunAsync(Chromium, page, Deadline);
        Keep(check, "report-erase.png");
        Assert.True(check.Problems().Length == 0, check.Problems());
        // The ruler's grid and the four training plots, every one of them decoded.
        Assert.True(check.Images >= 5, $"{check.Images} images on the page");
        Assert.Equal(html.Split("<img ").Length - 1, check.Images);
        Assert.Contains("in-set erasure", html, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task CompareReport_LoadsCleanly_WithTheParetoPlotAndTheGrids()
    {
        Skip.If(Chromium is null, NoChromium);
        // The erase run, placed where `doco compare` keeps DoCo's run for seed 42; --report-only rebuilds the
        // comparison (tables, pareto.png, report.html) from it without training.
        string compare = Path.Combine(erase.Root, "compare"), run = Path.Combine(compare, "doco", "seed-42");
        Directory.CreateDirectory(run);
        foreach (var file in new[] { "ruler.json", "train.csv", "grid.png", "grid.txt", "report.html" })
            File.Copy(Path.Combine(erase.Folder, file), Path.Combine(run, file));
        var (code, output, error) = Doco.Run("compare", "--quick", "--only", "doco", "--seeds", "42", "--out", compare, "--report-only");
        Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
        string page = Path.Combine(compare, "report.html");
        Assert.Contains(page, output, StringComparison.Ordinal);
        string html = await File.ReadAllTextAsync(page);
        Assert.Contains("<td>DoCo</td>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"doco/seed-42/report.html\"", html, StringComparison.Ordinal);

        var check = await PageCheck.RunAsync(Chromium, page, Deadline);
        Keep(check, "report-compare.png");
        Assert.True(check.Problems().Length == 0, check.Problems());
        Assert.Equal(2, check.Images); // pareto.png and the run's grid
    }

    [SkippableFact]
    public async Task TheChecker_CatchesBrokenImages_ConsoleErrors_ExceptionsAndExternalRequests()
    {
        Skip.If(Chromium is null, NoChromium);
        var dir = Directory.CreateTempSubdirectory("report-check-");
        try
        {
            string good = "data:image/png;base64," + Convert.ToBase64String(Png.Encode(new byte[4 * 4 * 3], 4, 4));
            string clean = Path.Combine(dir.FullName, "clean.html"), broken = Path.Combine(dir.FullName, "broken.html");
            await File.WriteAllTextAsync(clean, $"<!DOCTYPE html><title>clean</title><img alt=\"good\" src=\"{good}\">");
            await File.WriteAllTextAsync(broken, "<!DOCTYPE html><title>broken</title>"
                + $"<img alt=\"good\" src=\"{good}\">"
                + "<img alt=\"corrupt\" src=\"data:image/png;base64,AAAA\">"
                + "<img alt=\"missing\" src=\"missing.png\">"
                + "<img alt=\"remote\" src=\"http://127.0.0.1:9/remote.png\">"
                + "<script>console.error('boom'); setTimeout(() => { throw new Error('thrown'); }, 0);</script>");

            var ok = await PageCheck.RunAsync(Chromium, clean, Deadline);
            Assert.True(ok.Problems().Length == 0, ok.Problems());
            Assert.Equal(1, ok.Images);

            var bad = await PageCheck.RunAsync(Chromium, broken, Deadline);
            log.WriteLine(bad.Problems());
            Assert.Equal(4, bad.Images);
            Assert.Equal(["corrupt", "missing", "remote"], bad.BrokenImages.Order(StringComparer.Ordinal));
            Assert.Contains(bad.Errors, e => e.Contains("boom", StringComparison.Ordinal));
            Assert.Contains(bad.Errors, e => e.Contains("thrown", StringComparison.Ordinal));
            Assert.Contains(bad.ExternalRequests, r => r.StartsWith("http://127.0.0.1:9/", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Saves the screenshot into artifacts/test-results/ (what CI keeps of a test run) and checks it is a page.</summary>
    private void Keep(PageCheck check, string name)
    {
        var (_, width, height) = PngReader.Read(check.Screenshot);
        string folder = Path.Combine(RepoRoot(), "artifacts", "test-results");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, check.Screenshot);
        log.WriteLine($"screenshot {width}×{height}: {path}");
        Assert.Equal(1280, width);
        Assert.True(height > 900, $"the screenshot is {height} pixels high: the page did not lay out below the first screen");
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Engine.sln above {AppContext.BaseDirectory}");
    }
}
