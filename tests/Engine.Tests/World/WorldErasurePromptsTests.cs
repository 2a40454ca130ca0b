using Engine.World;
using Engine.World.Ruler;

namespace Engine.Tests.World;

/// <summary>The built-in world's erasure prompts: the ruler's in-set templates, filled from the erasure's seed.</summary>
public sealed class WorldErasurePromptsTests
{
    [Theory]
    [InlineData("circle", "star", "shape")]
    [InlineData("plain", "striped", "style")]
    public void AnchorPrompts_UseExactlyTheRulersInSetTemplates(string anchor, string target, string kind)
    {
        var prompts = WorldErasurePrompts.Anchor(anchor, target, seed: 42);
        Assert.Equal(WorldErasurePrompts.DefaultCount, prompts.Count);
        string slot = kind == "shape" ? "{shape}" : "{style}";
        var templates = Captions.TrainingTemplates.Where(t => t.Contains(slot, StringComparison.Ordinal)).ToArray();
        // Every prompt is a fill of one of those templates with the anchor in the slot, and every template is used.
        var used = new HashSet<string>();
        foreach (var p in prompts)
        {
            var t = templates.Single(t => Matches(t, p, slot, anchor));
            used.Add(t);
        }
        Assert.Equal(templates.Length, used.Count);
        // The ruler's in-set prompts come from the same templates (with the target in the slot).
        var inSet = RulerPrompts.Build(target).Where(p => p.Group == PromptGroup.InSet).Select(p => p.Text).ToList();
        Assert.All(inSet, p => Assert.Contains(templates, t => Matches(t, p, slot, target)));
    }

    [Fact]
    public void Seed_ChangesTheFills_NotTheTemplates()
    {
        var a = WorldErasurePrompts.Anchor("circle", "star", seed: 1);
        var b = WorldErasurePrompts.Anchor("circle", "star", seed: 2);
        Assert.NotEqual(a, b);
        Assert.Equal(a, WorldErasurePrompts.Anchor("circle", "star", seed: 1));
    }

    [Theory]
    [InlineData("circle", "striped", "is a style and the anchor 'circle' a shape")]
    [InlineData("red", "star", "anchor 'red' is not a shape or a style")]
    [InlineData("circle", "van gogh", "concept 'van gogh' is not a shape or a style")]
    public void MismatchedOrUnknownConcepts_AreRefused(string anchor, string target, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => WorldErasurePrompts.Anchor(anchor, target, 42));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void SynonymAnchor_StandsInThePrompts()
    {
        Assert.All(WorldErasurePrompts.Anchor("disc", "star", 42), p => Assert.Contains("disc", p));
    }

    /// <summary>Whether <paramref name="prompt"/> is <paramref name="template"/> with <paramref name="word"/> in the slot and any words elsewhere.</summary>
    private static bool Matches(string template, string prompt, string slot, string word)
    {
        var pattern = "^" + System.Text.RegularExpressions.Regex.Escape(template)
            .Replace(System.Text.RegularExpressions.Regex.Escape(slot), System.Text.RegularExpressions.Regex.Escape(word), StringComparison.Ordinal)
            .Replace(@"\{colour}", "[a-z]+", StringComparison.Ordinal).Replace(@"\{shape}", "[a-z]+", StringComparison.Ordinal)
            .Replace(@"\{style}", "[a-z]+", StringComparison.Ordinal).Replace(@"\{background}", "[a-z ]+", StringComparison.Ordinal) + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(prompt, pattern);
    }
}
