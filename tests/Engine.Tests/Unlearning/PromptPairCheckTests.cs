using Engine.Models.Text;
using Engine.Unlearning.Data;
using Engine.World;

namespace Engine.Tests.Unlearning;

/// <summary>The (anchor, target) prompt-pair check, on the built-in world's 16-token tokenizer and the tiny-sd one.</summary>
public sealed class PromptPairCheckTests
{
    private static readonly string WorldTokenizerDir = Path.Combine(ModelSearch.FindUp(Path.Combine("models", "world"))!, "tokenizer");

    private static ClipTokenizer World() => ClipTokenizer.FromDirectory(WorldTokenizerDir);

    [Fact]
    public void StableDiffusionPhotoTemplates_OnTheWorldTokenizer_AreFlagged()
    {
        // The photo caption the erasure used before: its words split into letters and "circle" falls past 16 tokens.
        var tok = World();
        var broken = PromptPairCheck.Find(tok, 16, ["a close-up photo of a circle"], ["a close-up photo of a star"], "circle", "star");
        var pair = Assert.Single(broken);
        Assert.Equal(0, pair.Index);
        Assert.Contains("same 16 token ids", pair.Reason);
    }

    [Fact]
    public void ConceptCutOff_IsNamed()
    {
        var tok = World();
        // The target word is longer than the anchor, so the target prompt loses it while the anchor prompt does not.
        string filler = string.Join(' ', Enumerable.Repeat("red", 13));
        var broken = PromptPairCheck.Find(tok, 16, [$"{filler} ring"], [$"{filler} pentagram"], "ring", "pentagram");
        var pair = Assert.Single(broken);
        Assert.Contains("the concept 'pentagram' is cut off", pair.Reason);
    }

    [Fact]
    public void WorldErasurePrompts_HaveNoBrokenPair()
    {
        var tok = World();
        foreach (var (anchor, target) in new[] { ("circle", "star"), ("plain", "striped"), ("disc", "pentagram") })
        {
            var anchors = WorldErasurePrompts.Anchor(anchor, target, seed: 42);
            var prompts = new ConceptPrompts(ConceptType.Object, anchor, target, anchors);
            var targets = prompts.TargetPrompts(42);
            Assert.Empty(PromptPairCheck.Find(tok, 16, anchors, targets, anchor, target));
        }
    }

    [Fact]
    public void TooMany_RefusesAboveAQuarter()
    {
        Assert.False(PromptPairCheck.TooMany(4, 16));
        Assert.True(PromptPairCheck.TooMany(5, 16));
        Assert.True(PromptPairCheck.TooMany(0, 0));
    }

    [Fact]
    public void CleanPairs_OnTinySd_PassAndMismatchedCountsThrow()
    {
        var tok = ClipTokenizer.FromDirectory(Path.Combine(TinyTrainer.Fixture, "tokenizer"));
        var anchors = ConceptPrompts.BuiltIn(ConceptType.Object, "airplane", "parachute");
        Assert.Empty(PromptPairCheck.Find(tok, tok.ModelMaxLength, anchors.AnchorPrompts, anchors.TargetPrompts(0), "airplane", "parachute"));
        Assert.Throws<ArgumentException>(() => PromptPairCheck.Find(tok, 77, ["a"], [], "a", "b"));
    }
}
