using Engine.World.Classifier;

namespace Engine.World.Ruler;

/// <summary>Per-attribute accuracy of a model on the held-out triples, against the bar a shipped model must clear.</summary>
public sealed record QualityResult(HeadAccuracy Accuracy, int Prompts, int Samples)
{
    public const double ShapeBar = 0.85, ColourBar = 0.90, StyleBar = 0.75;

    public bool Passes => Accuracy.Shape >= ShapeBar && Accuracy.Colour >= ColourBar && Accuracy.Style >= StyleBar;

    public override string ToString() =>
        $"quality on {Prompts} held-out prompts × {Samples}: shape {Accuracy.Shape:P1} (bar {ShapeBar:P0}), colour {Accuracy.Colour:P1} (bar {ColourBar:P0}), " +
        $"style {Accuracy.Style:P1} (bar {StyleBar:P0}): {(Passes ? "PASS" : "FAIL")}";
}

/// <summary>
/// The quality bar (docs/toyworld.md): samples from held-out shape–colour–style triples, with captions that name all
/// three attributes, read by the classifier. Shape ≥ 85 %, colour ≥ 90 %, style ≥ 75 %.
/// </summary>
public static class QualityBar
{
    /// <summary>The templates that name shape, colour and style.</summary>
    public static string[] FullTemplates => Captions.AllTemplates
        .Where(t => t.Contains("{shape}", StringComparison.Ordinal) && t.Contains("{colour}", StringComparison.Ordinal) && t.Contains("{style}", StringComparison.Ordinal)).ToArray();

    /// <summary>One prompt per held-out triple, the templates taken in turn.</summary>
    public static List<RulerPrompt> Prompts(int seed = 0)
    {
        var rng = new Random(seed);
        var templates = FullTemplates;
        return HeldOut.Triples().Select((x, i) =>
        {
            var scene = Scene.Sample(rng, WorldModel.ImageSize, x.Shape, x.Colour, x.Style);
            return new RulerPrompt(Captions.Fill(templates[i % templates.Length], scene), PromptGroup.OutOfSet, x.Shape, x.Colour, x.Style);
        }).ToList();
    }

    public static QualityResult Measure(IWorldSampler sampler, WorldClassifier classifier, int samples = 4, int seed = 0, Action<int, int>? progress = null)
    {
        var prompts = Prompts(seed);
        var ruler = new ErasureRuler(classifier, new RulerSettings(Samples: samples, Seed: seed));
        var s = ruler.Sample(sampler, prompts.Select(p => p.Text).ToList(), progress);
        var expected = new int[prompts.Count * samples * 3];
        for (int i = 0; i < prompts.Count; i++)
            for (int j = 0; j < samples; j++)
            {
                int r = (i * samples + j) * 3;
                expected[r] = prompts[i].Shape;
                expected[r + 1] = prompts[i].Colour;
                expected[r + 2] = prompts[i].Style;
            }
        return new QualityResult(ClassifierTrainer.Accuracy(s.Labels, expected, prompts.Count * samples), prompts.Count, samples);
    }
}
