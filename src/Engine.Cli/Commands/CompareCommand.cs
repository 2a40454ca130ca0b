using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Engine.IO;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco compare</c>: the paper's comparison on the built-in world — DoCo, DoCo without domain correction,
/// DoCo without the concept-preserving gradient, Concept Ablation and ESD — with the same seed and the same number of
/// UNet updates, each measured by the ruler against the base model. Writes one folder per method and results.md.
/// </summary>
internal static class CompareCommand
{
    private sealed record Variant(string Name, string Label, string Method, string? Surgery, bool NoDomainCorrection);

    private static readonly Variant[] Variants =
    [
        new("doco", "DoCo", "doco", "projection", false),
        new("doco-no-dc", "DoCo without domain correction", "doco", "projection", true),
        new("doco-no-cpg", "DoCo without concept-preserving gradient", "doco", "none", false),
        new("ca", "Concept Ablation", "ca", null, false),
        new("esd", "ESD-x", "esd", null, false),
    ];

    public static Command Create()
    {
        var updates = new Option<int>("--updates") { Description = "UNet updates per method (DoCo adds half as many discriminator-only warm-up steps)", DefaultValueFactory = _ => 80 };
        var concept = new Option<string>("--concept") { Description = "concept to erase", DefaultValueFactory = _ => "star" };
        var anchor = new Option<string>("--anchor") { Description = "anchor concept", DefaultValueFactory = _ => "circle" };
        var type = new Option<string>("--type") { Description = "object or style", DefaultValueFactory = _ => "object" };
        var only = new Option<string>("--only") { Description = "comma-separated subset of: " + string.Join(", ", Variants.Select(v => v.Name)) };
        var quick = new Option<bool>("--quick") { Description = "shortened runs and the quick ruler (for CI)" };
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "compare" };
        var seed = new Option<ulong>("--seed") { Description = "seed shared by every method", DefaultValueFactory = _ => 42UL };
        var cmd = new Command("compare", "Run DoCo, its two ablations, Concept Ablation and ESD on the built-in world and tabulate the ruler.")
            { updates, concept, anchor, type, only, quick, output, seed };
        cmd.SetAction(parse => Run(parse.GetValue(updates), parse.GetValue(concept)!, parse.GetValue(anchor)!, parse.GetValue(type)!,
            parse.GetValue(only), parse.GetValue(quick), parse.GetValue(output)!, parse.GetValue(seed), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(int updates, string concept, string anchor, string type, string? only, bool quick, string outDir, ulong seed, TextWriter output, TextWriter error)
    {
        if (updates < 1) { error.WriteLine("compare: --updates must be ≥ 1"); return 2; }
        var chosen = Variants.ToList();
        if (only is not null)
        {
            var names = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => Variants.All(v => v.Name != n)).ToList();
            if (unknown.Count > 0) { error.WriteLine($"compare: unknown --only {string.Join(", ", unknown)} (one of {string.Join(", ", Variants.Select(v => v.Name))})"); return 2; }
            chosen = Variants.Where(v => names.Contains(v.Name)).ToList();
        }
        Directory.CreateDirectory(outDir);
        var rows = new List<(Variant V, JsonObject? Ruler, double Seconds)>();
        foreach (var v in chosen)
        {
            output.WriteLine($"compare: === {v.Label} ===");
            string dir = Path.Combine(outDir, v.Name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            bool doco = v.Method == "doco" && !v.NoDomainCorrection;
            var o = new EraseCommand.Options
            {
                Concept = concept,
                Anchor = anchor,
                Type = type,
                Method = v.Method,
                Surgery = v.Surgery,
                NoDomainCorrection = v.NoDomainCorrection,
                Steps = quick ? null : (doco ? updates + updates / 2 : updates),
                Warmup = quick ? null : (doco ? updates / 2 : 0),
                Out = dir,
                Cache = Path.Combine(outDir, "cache"),
                Seed = seed,
                Eval = true,
                Quick = quick,
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int code = EraseCommand.Run(o, output, error);
            if (code != 0) { error.WriteLine($"compare: {v.Name} failed with exit code {code}"); return code; }
            string rulerPath = Path.Combine(dir, "ruler.json");
            rows.Add((v, File.Exists(rulerPath) ? JsonNode.Parse(File.ReadAllText(rulerPath))?.AsObject() : null, clock.Elapsed.TotalSeconds));
        }
        string md = Markdown(rows, concept, anchor, updates, quick, seed);
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.md"), md);
        output.WriteLine(md);
        output.WriteLine($"compare: wrote {Path.Combine(outDir, "results.md")}");
        return 0;
    }

    private static readonly (string Key, string Label)[] Metrics =
    [
        ("in_set_erasure", "in-set ↓"), ("out_of_set_erasure", "out-of-set ↓"), ("synonym_erasure", "synonyms ↓"), ("anchor_transfer", "anchor ↑"),
        ("attribute_retention", "attributes ↑"), ("preservation_close", "close ↑"), ("preservation_other", "other ↑"),
    ];

    private static string Markdown(List<(Variant V, JsonObject? Ruler, double Seconds)> rows, string concept, string anchor, int updates, bool quick, ulong seed)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Erase '{concept}' (anchor '{anchor}') from the built-in model; {(quick ? "quick runs" : $"{updates} UNet updates per method")}, seed {seed}.");
        sb.AppendLine();
        sb.AppendLine("| method | " + string.Join(" | ", Metrics.Select(m => m.Label)) + " | Fréchet ↓ | time |");
        sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Metrics.Length + 2)));
        var first = rows.FirstOrDefault(r => r.Ruler is not null).Ruler;
        if (first?["base"] is JsonObject b)
            sb.AppendLine("| base model | " + string.Join(" | ", Metrics.Select(m => Pct(b[m.Key]))) + " | 0 | |");
        foreach (var (v, ruler, seconds) in rows)
        {
            var e = ruler?["erased"] as JsonObject;
            string fid = ruler?["fidelity"] is JsonNode f ? f.GetValue<double>().ToString("F1", c) : "–";
            sb.AppendLine($"| {v.Label} | " + string.Join(" | ", Metrics.Select(m => Pct(e?[m.Key]))) + string.Create(c, $" | {fid} | {seconds:F0} s |"));
        }
        sb.AppendLine();
        sb.AppendLine("Grids (base left, erased right, same seeds): " + string.Join(", ", rows.Select(r => $"[{r.V.Name}]({r.V.Name}/grid.png)")) + ".");
        return sb.ToString();
    }

    private static string Pct(JsonNode? n) => n is null ? "–" : (n.GetValue<double>() * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";
}
