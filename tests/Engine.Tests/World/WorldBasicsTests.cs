using Engine.World;
using Engine.World.Ruler;

namespace Engine.Tests.World;

public class WorldBasicsTests
{
    [Fact]
    public void Renderer_IsDeterministic_AndInRange()
    {
        var scene = Scene.Sample(new Random(3), 32);
        using var a = new WorldRenderer(32);
        using var b = new WorldRenderer(32);
        var x = a.Render(scene);
        a.Render(Scene.Sample(new Random(4), 32));
        var y = a.Render(scene);
        var z = b.Render(scene);
        Assert.Equal(x, y);
        Assert.Equal(x, z);
        Assert.All(x, v => Assert.InRange(v, -1f, 1f));
        Assert.NotEqual(x, a.Render(scene with { Shape = (scene.Shape + 1) % 8 }));
    }

    [Fact]
    public void Captions_Synonyms_AndConcepts()
    {
        var s = new Scene(3, 0, 1, 0, 0.6f, 16, 16, 0);
        Assert.Equal("a striped red star", Captions.Fill("a {style} {colour} {shape}", s));
        Assert.Equal("a banded red pentagram", Captions.Fill("a {style} {colour} {shape}", s, new Random(0), 1.0));
        Assert.Equal(("shape", 3), WorldVocabulary.Concept("pentagram")!.Value);
        Assert.Equal(("style", 1), WorldVocabulary.Concept("banded")!.Value);
        Assert.Equal(("colour", 0), WorldVocabulary.Concept("red")!.Value);
        Assert.Null(WorldVocabulary.Concept("zebra"));
        Assert.Throws<ArgumentException>(() => RulerPrompts.Kind("red"));
        Assert.Empty(Captions.TrainingTemplates.Intersect(Captions.HeldOutTemplates));
    }

    [Theory]
    [InlineData(null, 0.25, 0.45)]
    [InlineData(0.0, 0.0, 0.0)]
    [InlineData(0.75, 0.62, 0.73)]
    [InlineData(1.0, 0.9, 0.9)]
    public void PretrainingCaptions_NameTheStyle_AsOftenAsAsked(double? share, double min, double max)
    {
        var rng = new Random(5);
        int named = 0, empty = 0;
        const int N = 4000;
        for (int i = 0; i < N; i++)
        {
            var scene = new Scene(i % 8, i / 8 % 8, i % 4, 0, 0.6f, 16, 16, 0);
            string caption = Captions.ForPretraining(scene, rng, share);
            if (caption.Length == 0) { empty++; continue; }
            string[] words = caption.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
            if (words.Any(w => WorldVocabulary.Concept(w) is ("style", _))) named++;
        }
        double fraction = (double)named / N;
        // Empty captions (about 10 %) never name anything; the exact share would be 0.9 × share, give or take sampling noise.
        Assert.InRange(fraction, min - 0.03, max + 0.03);
        Assert.InRange((double)empty / N, 0.07, 0.13);
    }

    [Fact]
    public void TrainedTriples_AsManyAsHeldOut_NeverHeldOut_EveryStyle()
    {
        var heldOut = HeldOut.Triples().ToList();
        var trained = HeldOut.TrainedTriples().ToList();
        Assert.Equal(heldOut.Count, trained.Count);
        Assert.Equal(trained.Count, trained.Distinct().Count());
        Assert.All(trained, t => Assert.False(HeldOut.IsHeldOut(t.Shape, t.Colour, t.Style)));
        // The diagnostic reads style accuracy per style, so each must come up (held-out: 5 to 7 of each).
        Assert.All(Enumerable.Range(0, WorldVocabulary.Styles.Length), st => Assert.InRange(trained.Count(t => t.Style == st), 5, 7));
        Assert.Equal(trained, QualityBar.Prompts(trained: true).Select(p => (p.Shape, p.Colour, p.Style)));
    }

    [Fact]
    public void RulerPrompts_CoverTheSets()
    {
        var p = RulerPrompts.Build("star");
        Assert.All(p.Where(x => x.Group is PromptGroup.InSet or PromptGroup.OutOfSet), x => Assert.Equal(3, x.Shape));
        Assert.Contains(p, x => x.Text.Contains("pentagram", StringComparison.Ordinal));
        Assert.All(p.Where(x => x.Group == PromptGroup.InSet), x => Assert.Contains(Captions.TrainingTemplates, t => Matches(t, x.Text)));
        Assert.Equal(new[] { "cross", "diamond" }, p.Where(x => x.Group == PromptGroup.Close).Select(x => WorldVocabulary.Shapes[x.Shape]).Distinct().Order());
        var st = RulerPrompts.Build("striped");
        Assert.All(st.Where(x => x.Group == PromptGroup.InSet), x => Assert.Equal(1, x.Style));
        Assert.All(st.Where(x => x.Group == PromptGroup.Close), x => Assert.Equal(2, x.Style));
    }

    private static bool Matches(string template, string text) =>
        template.Split(' ')[0].StartsWith('{') || text.StartsWith(template.Split(' ')[0], StringComparison.Ordinal);

    [Fact]
    public void PromptFile_ParsesLabels()
    {
        var list = PromptFile.Parse(["# comment", "", "a red pentagram\tshape=pentagram colour=red", "a box", "x\tstyle=banded color=blue"]);
        Assert.Equal(3, list.Count);
        Assert.Equal(new LabelledPrompt("a red pentagram", 3, 0, -1, 3), list[0]);
        Assert.Equal(new LabelledPrompt("a box", -1, -1, -1, 4), list[1]);
        Assert.Equal(new LabelledPrompt("x", -1, 2, 1, 5), list[2]);
        Assert.Throws<FormatException>(() => PromptFile.Parse(["a\tshape=zebra"]));
        Assert.Throws<FormatException>(() => PromptFile.Parse(["a\tsize=big"]));
    }

    [Fact]
    public void FrechetDistance_KnownCases()
    {
        var rng = new Random(1);
        int n = 50, d = 6;
        var a = Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble()).ToArray();
        Assert.Equal(0, FrechetDistance.Compute(a, n, a, n, d), 6);
        // A pure shift moves only the mean term: the distance is the squared length of the shift.
        var b = a.Select((v, i) => v + (i % d == 2 ? 0.5f : 0f)).ToArray();
        Assert.Equal(0.25, FrechetDistance.Compute(a, n, b, n, d), 4);
        // A scaled copy: Σ₂ = 4Σ₁, so tr(Σ₁ + 4Σ₁ − 2·2Σ₁) = tr Σ₁, plus the shifted mean.
        var c = a.Select(v => 2 * v).ToArray();
        var (muA, covA) = FrechetDistance.Moments(a, n, d);
        double expected = Enumerable.Range(0, d).Sum(i => covA[i * d + i] + muA[i] * muA[i]);
        Assert.Equal(expected, FrechetDistance.Compute(a, n, c, n, d), 4);
    }
}
