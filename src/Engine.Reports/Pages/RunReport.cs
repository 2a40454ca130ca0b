using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.IO;
using Engine.Reports.Html;
using Engine.World.Ruler;

namespace Engine.Reports.Pages;

/// <summary>
/// report.html of one erasure run: what ran and what it cost, the ruler before and after, the before/after samples
/// large enough to see, the training plots, the files and every setting, in one file that opens offline. It reads
/// only what the run left in its folder (manifest.json, ruler.json, grid.png/.txt, the plots), so it can be written
/// after everything else, and a piece that is missing becomes a note on the page rather than an error.
/// </summary>
public static class RunReport
{
    public const string FileName = "report.html";

    /// <summary>The plots a run writes, in reading order, with what each shows.</summary>
    internal static readonly (string File, string Caption)[] Plots =
    [
        ("losses.png", "Losses against step (DoCo: L_adv, L_ret, L_D; CA and ESD: their own loss)"),
        ("discriminator.png", "Discriminator accuracy on real (anchor) and fake (concept) samples"),
        ("surgery.png", "Gradient surgery: share of tensors where it fired, mean cosine of the two gradients, and the cosine per tensor"),
        ("timesteps.png", "Per timestep range: the discriminator's accuracy and the x̂0 gap between fake and real samples"),
    ];

    /// <summary>Writes <paramref name="folder"/>/report.html (atomically) and returns its path.</summary>
    public static string Write(string folder, RunCost cost)
    {
        string path = Path.Combine(folder, FileName);
        AtomicFile.WriteAllText(path, Build(folder, cost));
        return path;
    }

    /// <summary>The page's HTML. A folder without manifest.json is not a finished run: FileNotFoundException.</summary>
    public static string Build(string folder, RunCost cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        string manifestPath = Path.Combine(folder, "manifest.json");
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{folder} holds no manifest.json: not a finished erase run", manifestPath);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath)) as JsonObject
            ?? throw new InvalidDataException($"{manifestPath} is not a JSON object");
        var c = CultureInfo.InvariantCulture;

        string method = MethodName(Text(manifest["method"]));
        string concept = Text(manifest["concept"]), anchor = Text(manifest["anchor"]);
        var page = new HtmlPage($"{method}: erase '{concept}' → '{anchor}'");
        page.Heading(1, $"Erasing '{concept}' → '{anchor}' with {method}");
        page.Paragraph($"{Text(manifest["type"])} concept · seed {Text(manifest["seed"])} · {Text(manifest["steps"])} steps · written {Text(manifest["created_utc"])}", "subtitle");

        // ---- the run and its cost ----
        page.Raw("<section><div class=\"cols\"><div>");
        page.Heading(2, "Run");
        var changed = manifest["changed_tensors"] as JsonArray;
        string commit = Text(manifest["engine"]?["commit"]);
        page.Table([], [
            ["method", method],
            ["concept → anchor", $"{concept} → {anchor} ({Text(manifest["type"])})"],
            ["seed", Text(manifest["seed"])],
            ["steps", $"{Text(manifest["steps"])} ({Text(manifest["skipped_steps"])} skipped for NaN/Inf)"],
            ["changed tensors", changed is null ? "–" : changed.Count.ToString(c)],
            ["weights", Text(manifest["weights_dtype"])],
            ["base model", new Cell(Text(manifest["base_model"]?["path"]), "path")],
            ["base model hash", new Cell(Shorten(Text(manifest["base_model"]?["hash"])), "path")],
            ["engine", Text(manifest["engine"]?["version"]) + (commit == "–" ? "" : $" ({Shorten(commit)})")],
        ], [false, false], "kv");
        page.Raw("</div><div>");
        page.Heading(2, "Cost");
        RulerResult? ruler = null;
        string? rulerProblem = null;
        string rulerPath = Path.Combine(folder, "ruler.json");
        if (File.Exists(rulerPath))
        {
            try { ruler = RulerReport.FromJson(File.ReadAllText(rulerPath)); }
            catch (JsonException e) { rulerProblem = $"ruler.json could not be read: {e.Message}"; }
        }
        var (fileRows, totalBytes) = FolderSizes.Rows(folder, manifest["files"] as JsonObject, FolderNotes, FileName);
        long trainingPeak = Number(manifest["peak_memory_bytes"]) is double p ? (long)p : 0;
        page.Table([], [
            ["training loop", Number(manifest["wall_seconds"]) is double w ? Units.Seconds(w) : "–"],
            ["ruler, before and after", ruler is null ? "not run" : Units.Seconds(ruler.Seconds)],
            ["whole command", Units.Seconds(cost.CommandSeconds)],
            ["peak memory (process RSS), training", trainingPeak > 0 ? Units.Bytes(trainingPeak) : "not reported"],
            ["peak memory (process RSS), whole command", cost.PeakRssBytes > 0 ? Units.Bytes(cost.PeakRssBytes) : "not reported by this OS"],
            ["backend", cost.Backend ?? "–"],
            ["device memory peak", cost.DevicePeakBytes is long d ? Units.Bytes(d) : "not reported by the backend"],
            ["files in the folder", Units.Bytes(totalBytes)],
        ], [false, true], "kv");
        page.Raw("</div></div></section>\n");

        // ---- the ruler ----
        page.Raw("<section>");
        page.Heading(2, "Ruler: base and erased model");
        if (ruler is not null) RulerTable(page, ruler);
        else page.Note(rulerProblem ?? "No ruler.json: the erasure was not measured (the ruler needs the built-in world model; --eval).");
        page.Raw("</section>\n");

        // ---- the samples ----
        page.Raw("<section>");
        page.Heading(2, "Samples, before and after");
        var grid = SampleGrid.Load(folder, maxSide: 1000);
        if (grid is null) page.Note("No grid.png: the ruler did not run, so there are no before/after samples.");
        else
        {
            page.Raw(grid.Html("before/after samples: base model left, erased model right, same seeds"));
            page.Note((grid.HasBase ? "Left: the base model; right: the erased model; same prompts and seeds. " : "The erased model's samples. ")
                + (grid.Image.Scale > 1 ? $"Enlarged ×{grid.Image.Scale} with nearest neighbour from the model's own pixels." : ""));
        }
        page.Raw("</section>\n");

        // ---- the training plots ----
        page.Raw("<section>");
        page.Heading(2, "Training");
        TrainingPlots(page, folder);
        page.Raw("</section>\n");

        // ---- files and settings ----
        page.Raw("<section>");
        page.Heading(2, "Files");
        page.Table(["entry", "files", "size", ""], fileRows, [false, true, true, false]);
        if (changed is not null && changed.Count > 0)
            page.Raw("<details><summary>changed tensors (delta.safetensors)</summary><ul>"
                + string.Concat(changed.Select(t => $"<li class=\"path\">{HtmlPage.Encode(Text(t))}</li>")) + "</ul></details>\n");
        page.Raw("</section>\n<section>");
        page.Heading(2, "Settings");
        if (manifest["hyperparameters"] is JsonObject hyper) page.Raw(Settings(hyper));
        else page.Note("The manifest lists no hyperparameters.");
        page.Raw("</section>\n");
        return page.ToHtml();
    }

    private static readonly Dictionary<string, string> FolderNotes = new()
    {
        ["model"] = "the erased model (diffusers folder)",
        ["cache"] = "anchor images and the base model's ruler samples, reused by later runs",
        ["checkpoint.safetensors"] = "for --resume",
        ["delta.safetensors"] = "the trained tensors only",
        ["train.csv"] = "one row per step",
        ["lora"] = "LoRA files (--lora)",
    };

    private static void RulerTable(HtmlPage page, RulerResult r)
    {
        var rows = new List<IReadOnlyList<Cell>>();
        foreach (var (metric, b, e) in RulerReport.Rows(r))
        {
            string change = "–", cls = "";
            if (b is double bv && e is double ev)
            {
                double d = 100 * (ev - bv);
                change = d.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " pt";
                bool lowerIsBetter = metric.Contains('↓', StringComparison.Ordinal);
                if (Math.Abs(d) >= 0.05) cls = (d < 0) == lowerIsBetter ? "good" : "bad";
            }
            // RulerReport indents a row that is part of the one above ("  of which synonyms").
            var name = new Cell(metric.Trim(), metric.StartsWith(' ') ? "sub" : null);
            rows.Add([name, Units.Percent(b), Units.Percent(e), new Cell(change, cls.Length == 0 ? null : cls)]);
        }
        rows.Add(["fidelity: Fréchet distance to base (↓)", r.Base is null ? "–" : "0",
            r.Fidelity is double f ? f.ToString("0.000", CultureInfo.InvariantCulture) : "–", ""]);
        page.Table(["metric", "base", "erased", "change"], rows);
        page.Note($"'{r.Concept}' ({r.Kind}{(r.Anchor is null ? "" : $", anchor '{r.Anchor}'")}): {r.Prompts} prompts × {r.Samples} sample{(r.Samples == 1 ? "" : "s")} each. "
            + "Erasure rows: the share of samples that still show the concept (lower is better). Green: the change goes the way the arrow asks; red: against it.");
    }

    private static void TrainingPlots(HtmlPage page, string folder)
    {
        var missing = new List<string>();
        page.Raw("<div class=\"plots\">\n");
        foreach (var (file, caption) in Plots)
        {
            string path = Path.Combine(folder, file);
            if (File.Exists(path)) page.Figure(PageImage.FromFile(path), file, caption);
            else missing.Add(file);
        }
        // Whatever other plot the run wrote (a renamed or new one) is shown too, under its file name.
        var known = Plots.Select(p => p.File).Append(SampleGrid.ImageFile).ToHashSet();
        foreach (var path in Directory.EnumerateFiles(folder, "*.png").Order(StringComparer.Ordinal).Where(p => !known.Contains(Path.GetFileName(p))))
            page.Figure(PageImage.FromFile(path), Path.GetFileName(path), Path.GetFileName(path));
        page.Raw("</div>\n");
        if (missing.Count > 0) page.Note($"Not in the folder: {string.Join(", ", missing)}.");
    }

    /// <summary>Every hyperparameter as name and value, nested objects flattened with dots, in columns.</summary>
    private static string Settings(JsonObject hyper)
    {
        var pairs = new List<(string, string)>();
        void Add(string prefix, JsonNode? node)
        {
            if (node is JsonObject o) foreach (var (k, v) in o) Add(prefix.Length == 0 ? k : $"{prefix}.{k}", v);
            else pairs.Add((prefix, Text(node)));
        }
        Add("", hyper);
        var sb = new StringBuilder("<div class=\"settings\">");
        foreach (var (k, v) in pairs) sb.Append($"<div><span>{HtmlPage.Encode(k)}</span><span>{HtmlPage.Encode(v)}</span></div>");
        return sb.Append("</div>\n").ToString();
    }

    internal static string MethodName(string method) => method switch
    {
        "doco" => "DoCo",
        "ca" => "Concept Ablation",
        "esd" => "ESD",
        _ => method,
    };

    /// <summary>A manifest value as text: strings bare, numbers and literals as JSON writes them, "–" for null or absent.</summary>
    internal static string Text(JsonNode? node) => node switch
    {
        null => "–",
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    private static double? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue(out double d) ? d : null;

    private static string Shorten(string hash) => hash.Length > 16 ? hash[..12] + "…" : hash;
}
