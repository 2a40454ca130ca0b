using Engine.Cpu;
using Engine.World;
using Engine.World.Classifier;
using Engine.World.Ruler;

namespace Engine.Tests.World;

/// <summary>
/// A sampler that renders what a prompt names (other attributes from the seed), optionally drawing another shape
/// or style in place of an erased one: a model whose behaviour, and so whose ruler numbers, are known exactly.
/// </summary>
internal sealed class RenderingSampler(params (string Erased, string Replacement)[] replace) : IWorldSampler
{
    public List<Scene> Scenes { get; } = [];

    public float[] Sample(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, Action<int, int>? progress = null)
    {
        using var r = new WorldRenderer(32);
        var images = new float[prompts.Count * r.ImageNumel];
        Scenes.Clear();
        for (int i = 0; i < prompts.Count; i++)
        {
            int shape = -1, colour = -1, style = -1;
            // The background clause names no object attribute ("dark blue" is not the object's blue).
            string text = prompts[i].Split(" on ")[0];
            foreach (var word in text.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries))
            {
                var c = WorldVocabulary.Concept(word);
                if (c is null) continue;
                var (kind, index) = c.Value;
                foreach (var (from, to) in replace)
                    if (WorldVocabulary.Concept(from) == c) (kind, index) = WorldVocabulary.Concept(to)!.Value;
                if (kind == "shape") shape = index;
                else if (kind == "colour") colour = index;
                else style = index;
            }
            var scene = Scene.Sample(new Random((int)seeds[i]), 32, shape, colour, style);
            Scenes.Add(scene);
            r.Render(scene, images.AsSpan(i * r.ImageNumel, r.ImageNumel));
        }
        progress?.Invoke(1, 1);
        return images;
    }

    /// <summary>The ground truth of the last call, as the classifier's labels would be if it were perfect.</summary>
    public int[] Labels() => Scenes.SelectMany(s => new[] { s.Shape, s.Colour, s.Style }).ToArray();
}

public class RulerTests
{
    private static void Is(double expected, double? actual) => Assert.Equal(expected, actual!.Value, 9);

    private static (RulerMetrics Metrics, ErasureRuler Ruler) Measure(string concept, string anchor, IWorldSampler sampler)
    {
        using var clf = new WorldClassifier(new ClassifierConfig(), new CpuOps(1));
        var ruler = new ErasureRuler(clf, new RulerSettings(concept, anchor, Samples: 2));
        var fake = (RenderingSampler)sampler;
        var images = fake.Sample(ruler.Prompts.SelectMany(p => new[] { p.Text, p.Text }).ToList(),
            Enumerable.Range(0, ruler.Prompts.Count).SelectMany(i => new[] { ruler.SeedOf(i, 0), ruler.SeedOf(i, 1) }).ToList());
        return (ruler.Measure(new RulerSamples(images, fake.Labels(), [])), ruler);
    }

    [Fact]
    public void PerfectErasure_OfAShape()
    {
        var (m, _) = Measure("star", "circle", new RenderingSampler(("star", "circle")));
        Is(0, m.InSetErasure);
        Is(0, m.OutOfSetErasure);
        Is(0, m.SynonymErasure);
        Is(1, m.AnchorTransfer);
        Is(1, m.AttributeRetention);
        Is(1, m.PreservationClose);
        Is(1, m.PreservationOther);
    }

    [Fact]
    public void NoErasure_OfAStyle()
    {
        var (m, _) = Measure("striped", "plain", new RenderingSampler());
        Is(1, m.InSetErasure);
        Is(1, m.OutOfSetErasure);
        Is(0, m.AnchorTransfer);
        Is(1, m.AttributeRetention);
        Is(1, m.Preservation);
    }

    [Fact]
    public void ErasureThatBreaksACloseConcept()
    {
        // "Erasing" cross as well as star: the close concepts' preservation drops to 0, the others stay at 1.
        var (m, ruler) = Measure("star", "circle", new RenderingSampler(("star", "circle"), ("cross", "circle")));
        Is(0, m.InSetErasure);
        Is(0.5, m.PreservationClose);
        Is(1, m.PreservationOther);
        Assert.Contains(ruler.Prompts, p => p.Group == PromptGroup.Close);
    }

    [Fact]
    public void Report_HasEveryRow_AndTheChange()
    {
        var r = new RulerResult
        {
            Concept = "star",
            Kind = "shape",
            Anchor = "circle",
            Samples = 2,
            Prompts = 10,
            Base = new RulerMetrics { InSetErasure = 0.9, Preservation = 1 },
            Erased = new RulerMetrics { InSetErasure = 0.1, Preservation = 0.95 },
            Fidelity = 0.5,
        };
        string t = RulerReport.ToTerminal(r), md = RulerReport.ToMarkdown(r), json = RulerReport.ToJson(r);
        Assert.Contains("-80.0 pt", t);
        Assert.Contains("| in-set erasure (↓) | 90.0 % | 10.0 % | -80.0 pt |", md);
        Assert.Contains("\"in_set_erasure\": 0.1", json);
        Assert.Contains("0.500", t);
    }
}
