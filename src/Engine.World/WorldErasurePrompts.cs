namespace Engine.World;

/// <summary>
/// The anchor prompts of an erasure in the built-in world: the world's own <see cref="Captions.TrainingTemplates"/>
/// that name the concept's kind, filled with the anchor and random other attributes. The ruler's in-set prompts use
/// the same templates, so "in-set" means what the erasure trained on; the fills come from the erasure's seed, not the
/// ruler's, so no ruler prompt is tuned on. Stable Diffusion's photo captions are no use here: most of their words
/// are not in the world's vocabulary and split into letters, and at 16 tokens some lose the concept word altogether.
/// The target prompts replace the anchor word by the target word (for shapes and styles alike).
/// </summary>
public static class WorldErasurePrompts
{
    /// <summary>Enough fills that 64 anchor images see each prompt about once or twice.</summary>
    public const int DefaultCount = 48;

    /// <summary><paramref name="count"/> anchor prompts, the templates in turn, from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<string> Anchor(string anchor, string target, int seed, int count = DefaultCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var (kind, index) = Kind(anchor, "anchor");
        var (targetKind, _) = Kind(target, "concept");
        if (kind != targetKind)
            throw new ArgumentException($"the concept '{target}' is a {targetKind} and the anchor '{anchor}' a {kind}: the built-in world maps a shape to a shape or a style to a style");
        string slot = kind == "shape" ? "{shape}" : "{style}";
        var templates = Captions.TrainingTemplates.Where(t => t.Contains(slot, StringComparison.Ordinal)).ToArray();
        // A stream of its own, so that the ruler's fills (seed 0) are not these.
        var rng = new Random(unchecked(seed * 7919 + 104729));
        var prompts = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            var scene = kind == "shape" ? Scene.Sample(rng, WorldModel.ImageSize, shape: index) : Scene.Sample(rng, WorldModel.ImageSize, style: index);
            string name = kind == "shape" ? WorldVocabulary.Shapes[index] : WorldVocabulary.Styles[index];
            // A synonym given as the anchor ("disc") stands where the template put the name.
            prompts.Add(Captions.Fill(templates[i % templates.Length], scene).Replace(name, anchor.Trim(), StringComparison.Ordinal));
        }
        return prompts;
    }

    private static (string Kind, int Index) Kind(string word, string what)
    {
        var c = WorldVocabulary.Concept(word.Trim());
        if (c is null || c.Value.Kind == "colour")
            throw new ArgumentException($"the {what} '{word}' is not a shape or a style of the built-in world (shapes: {string.Join(", ", WorldVocabulary.Shapes)}; styles: {string.Join(", ", WorldVocabulary.Styles)})");
        return c.Value;
    }
}
