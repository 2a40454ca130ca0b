using System.Globalization;
using System.Text;
using Engine.World.Classifier;

namespace Engine.World.Ruler;

/// <summary>One line of a prompt file: the prompt and the labels its samples should carry (−1: not checked).</summary>
public sealed record LabelledPrompt(string Prompt, int Shape, int Colour, int Style, int Line);

/// <summary>Accuracy on one labelled prompt: share of samples with every listed label right, and per attribute.</summary>
public sealed record PromptAccuracy(LabelledPrompt Prompt, double All, double? Shape, double? Colour, double? Style);

/// <summary>
/// User prompt files for <c>doco eval --prompts</c>: one prompt per line, a tab, then space-separated
/// <c>attribute=value</c> labels (shape, colour, style; names or synonyms), e.g. <c>a pentagram in red	shape=star colour=red</c>.
/// Empty lines and lines starting with # are skipped; a line without a tab has no labels and is only sampled.
/// </summary>
public static class PromptFile
{
    public static List<LabelledPrompt> Parse(IEnumerable<string> lines)
    {
        var result = new List<LabelledPrompt>();
        int number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            var parts = line.Split('\t', 2);
            int shape = -1, colour = -1, style = -1;
            if (parts.Length == 2)
                foreach (var label in parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var kv = label.Split('=', 2);
                    if (kv.Length != 2) throw new FormatException($"line {number}: label '{label}' is not attribute=value");
                    string value = WorldVocabulary.Synonyms.FirstOrDefault(p => p.Value == kv[1]).Key ?? kv[1];
                    try
                    {
                        switch (kv[0])
                        {
                            case "shape": shape = WorldVocabulary.ShapeIndex(value); break;
                            case "colour" or "color": colour = WorldVocabulary.ColourIndex(value); break;
                            case "style": style = WorldVocabulary.StyleIndex(value); break;
                            default: throw new FormatException($"line {number}: unknown attribute '{kv[0]}' (shape, colour or style)");
                        }
                    }
                    catch (ArgumentException e)
                    {
                        throw new FormatException($"line {number}: {e.Message}", e);
                    }
                }
            result.Add(new LabelledPrompt(parts[0].Trim(), shape, colour, style, number));
        }
        return result;
    }

    /// <summary>Samples every prompt N times (the ruler's seeds) and scores the samples against the labels.</summary>
    public static List<PromptAccuracy> Evaluate(IReadOnlyList<LabelledPrompt> prompts, IWorldSampler sampler, WorldClassifier classifier, int samples, int seed = 0,
        Action<int, int>? progress = null)
    {
        var ruler = new ErasureRuler(classifier, new RulerSettings(Samples: samples, Seed: seed));
        var s = ruler.Sample(sampler, prompts.Select(p => p.Prompt).ToList(), progress);
        var list = new List<PromptAccuracy>();
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            int all = 0;
            var hits = new int[3];
            for (int j = 0; j < samples; j++)
            {
                var l = s.Labels.AsSpan((i * samples + j) * 3, 3);
                bool ok = true;
                int[] want = [p.Shape, p.Colour, p.Style];
                for (int h = 0; h < 3; h++)
                {
                    if (want[h] < 0) continue;
                    if (l[h] == want[h]) hits[h]++;
                    else ok = false;
                }
                if (ok) all++;
            }
            double? Share(int h, int want) => want < 0 ? null : (double)hits[h] / samples;
            list.Add(new PromptAccuracy(p, (double)all / samples, Share(0, p.Shape), Share(1, p.Colour), Share(2, p.Style)));
        }
        return list;
    }

    public static string ToTable(IReadOnlyList<PromptAccuracy> rows, string? label = null)
    {
        static string P(double? v) => v is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{100 * v.Value:F0} %");
        int w = Math.Max(6, rows.Count == 0 ? 6 : rows.Max(r => r.Prompt.Prompt.Length));
        var sb = new StringBuilder();
        if (label is not null) sb.AppendLine(label);
        sb.AppendLine($"{"prompt".PadRight(w)}  {"all",6}  {"shape",6}  {"colour",6}  {"style",6}");
        foreach (var r in rows) sb.AppendLine($"{r.Prompt.Prompt.PadRight(w)}  {P(r.All),6}  {P(r.Shape),6}  {P(r.Colour),6}  {P(r.Style),6}");
        double overall = rows.Count == 0 ? 0 : rows.Average(r => r.All);
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"overall".PadRight(w)}  {P(overall),6}");
        return sb.ToString();
    }
}
