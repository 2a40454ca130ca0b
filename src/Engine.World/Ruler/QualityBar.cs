using Engine.IO;
using Engine.IO.Images;
using Engine.World.Classifier;

namespace Engine.World.Ruler;

/// <summary>Per-attribute accuracy of a model on the held-out triples, against the bar a shipped model must clear.</summary>
/// <param name="Confusion">per head (shape, colour, style): [expected, predicted] counts over every sample</param>
/// <param name="PromptList">the held-out prompts, in the order of <paramref name="Images"/></param>
/// <param name="Images">the samples, <paramref name="Samples"/> per prompt, [3, 32, 32] each</param>
public sealed record QualityResult(HeadAccuracy Accuracy, int Prompts, int Samples, int[][,] Confusion,
                                   IReadOnlyList<RulerPrompt> PromptList, float[] Images)
{
    public const double ShapeBar = 0.85, ColourBar = 0.90, StyleBar = 0.75;

    public bool Passes => Accuracy.Shape >= ShapeBar && Accuracy.Colour >= ColourBar && Accuracy.Style >= StyleBar;

    public override string ToString() =>
        $"quality on {Prompts} prompts × {Samples}: shape {Accuracy.Shape:P1} (bar {ShapeBar:P0}), colour {Accuracy.Colour:P1} (bar {ColourBar:P0}), " +
        $"style {Accuracy.Style:P1} (bar {StyleBar:P0}): {(Passes ? "PASS" : "FAIL")}";

    /// <summary>Every sample, one row per prompt, and the prompts beside it (.txt), so the failures can be seen.</summary>
    public void SaveGrid(string path)
    {
        int size = WorldModel.ImageSize;
        var (rgb, w, h) = ImageGrid.Compose(Images, Prompts * Samples, 3, size, size, columns: Samples);
        Png.Save(path, rgb, w, h);
        AtomicFile.WriteAllText(Path.ChangeExtension(path, ".txt"),
            $"{Samples} samples per row; rows:\n" + string.Join("\n", PromptList.Select(p => p.Text)) + "\n");
    }

    /// <summary>Per expected class: its accuracy and what it was mistaken for most, one line per head.</summary>
    public IEnumerable<string> Breakdown()
    {
        string[][] names = [WorldVocabulary.Shapes, WorldVocabulary.Colours, WorldVocabulary.Styles];
        string[] heads = ["shape", "colour", "style"];
        for (int h = 0; h < 3; h++)
        {
            var c = Confusion[h];
            var parts = new List<string>();
            for (int e = 0; e < names[h].Length; e++)
            {
                int total = 0, wrong = -1;
                for (int p = 0; p < names[h].Length; p++)
                {
                    total += c[e, p];
                    if (p != e && c[e, p] > 0 && (wrong < 0 || c[e, p] > c[e, wrong])) wrong = p;
                }
                if (total == 0) continue;
                parts.Add($"{names[h][e]} {c[e, e]}/{total}" + (wrong >= 0 ? $" (→ {names[h][wrong]} {c[e, wrong]})" : ""));
            }
            yield return $"  {heads[h]}: {string.Join(", ", parts)}";
        }
    }
}

/// <summary>
/// The quality bar (docs/world.md): samples from held-out shape–colour–style triples, with captions that name all
/// three attributes, read by the classifier. Shape ≥ 85 %, colour ≥ 90 %, style ≥ 75 %.
/// </summary>
public static class QualityBar
{
    /// <summary>The templates that name shape, colour and style.</summary>
    public static string[] FullTemplates => Captions.AllTemplates
        .Where(t => t.Contains("{shape}", StringComparison.Ordinal) && t.Contains("{colour}", StringComparison.Ordinal) && t.Contains("{style}", StringComparison.Ordinal)).ToArray();

    /// <summary>One prompt per held-out triple (or, with <paramref name="trained"/>, per trained triple of as many), the templates taken in turn.</summary>
    public static List<RulerPrompt> Prompts(int seed = 0, bool trained = false)
    {
        var rng = new Random(seed);
        var templates = FullTemplates;
        return (trained ? HeldOut.TrainedTriples() : HeldOut.Triples()).Select((x, i) =>
        {
            var scene = Scene.Sample(rng, WorldModel.ImageSize, x.Shape, x.Colour, x.Style);
            return new RulerPrompt(Captions.Fill(templates[i % templates.Length], scene), PromptGroup.OutOfSet, x.Shape, x.Colour, x.Style);
        }).ToList();
    }

    /// <param name="trained">measure on trained triples instead: not the bar, but it tells composition from rendering</param>
    public static QualityResult Measure(IWorldSampler sampler, WorldClassifier classifier, int samples = 4, int seed = 0, Action<int, int>? progress = null,
                                        bool trained = false)
    {
        var prompts = Prompts(seed, trained);
        var ruler = new ErasureRuler(classifier, new RulerSettings(Samples: samples, Seed: seed));
        var s = ruler.Sample(sampler, prompts.Select(p => p.Text).ToList(), progress);
        var expected = new int[prompts.Count * samples * 3];
        int[][,] confusion = [new int[WorldVocabulary.Shapes.Length, WorldVocabulary.Shapes.Length],
                              new int[WorldVocabulary.Colours.Length, WorldVocabulary.Colours.Length],
                              new int[WorldVocabulary.Styles.Length, WorldVocabulary.Styles.Length]];
        for (int i = 0; i < prompts.Count; i++)
            for (int j = 0; j < samples; j++)
            {
                int r = (i * samples + j) * 3;
                expected[r] = prompts[i].Shape;
                expected[r + 1] = prompts[i].Colour;
                expected[r + 2] = prompts[i].Style;
                for (int h = 0; h < 3; h++) confusion[h][expected[r + h], s.Labels[r + h]]++;
            }
        return new QualityResult(ClassifierTrainer.Accuracy(s.Labels, expected, prompts.Count * samples), prompts.Count, samples, confusion, prompts, s.Images);
    }
}
