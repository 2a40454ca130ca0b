namespace Engine.World.Ruler;

/// <summary>Which prompt set a ruler prompt belongs to.</summary>
public enum PromptGroup
{
    /// <summary>Target prompts from <see cref="Captions.TrainingTemplates"/> (what the erasure trains on).</summary>
    InSet,

    /// <summary>Target prompts never used in training: held-out templates, held-out attribute triples, synonyms.</summary>
    OutOfSet,

    /// <summary>Prompts of concepts visually close to the target (cross, diamond for star; dotted for striped).</summary>
    Close,

    /// <summary>Prompts of every other concept of the same kind.</summary>
    Other,
}

/// <summary>A prompt with the labels it names (−1 where it does not name the attribute).</summary>
public sealed record RulerPrompt(string Text, PromptGroup Group, int Shape, int Colour, int Style)
{
    /// <summary>The named label of an attribute kind ("shape", "colour", "style").</summary>
    public int Label(string kind) => kind switch
    {
        "shape" => Shape,
        "colour" => Colour,
        "style" => Style,
        _ => throw new ArgumentException($"unknown attribute kind '{kind}'"),
    };
}

/// <summary>
/// The ruler's prompt sets for one concept (docs/world.md), fixed by a seed: target prompts in-set and out-of-set,
/// and prompts of the other concepts of the same kind, the visually close ones marked.
/// </summary>
public static class RulerPrompts
{
    /// <summary>Concepts that look like each other at 32 pixels, reported apart under preservation.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> CloseConcepts = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["star"] = ["cross", "diamond"],
        ["cross"] = ["star", "plus"],
        ["diamond"] = ["square", "star"],
        ["circle"] = ["ring"],
        ["ring"] = ["circle"],
        ["square"] = ["diamond"],
        ["heart"] = ["triangle"],
        ["triangle"] = ["heart"],
        ["striped"] = ["dotted"],
        ["dotted"] = ["striped"],
        ["plain"] = ["outline"],
        ["outline"] = ["plain"],
    };

    /// <param name="concept">the target (a shape or a style, by name or synonym)</param>
    /// <param name="perTemplate">fills per template (random other attributes) for each target set</param>
    /// <param name="perConcept">prompts per non-target concept</param>
    public static List<RulerPrompt> Build(string concept, int perTemplate = 2, int perConcept = 2, int seed = 0)
    {
        var (kind, target) = Kind(concept);
        var rng = new Random(seed);
        var list = new List<RulerPrompt>();
        string slot = kind == "shape" ? "{shape}" : "{style}";
        var training = Captions.TrainingTemplates.Where(t => t.Contains(slot, StringComparison.Ordinal)).ToArray();
        var heldOut = Captions.HeldOutTemplates.Where(t => t.Contains(slot, StringComparison.Ordinal)).ToArray();

        foreach (var t in training)
            for (int i = 0; i < perTemplate; i++) list.Add(Make(t, Draw(rng, kind, target), PromptGroup.InSet, synonym: false));
        foreach (var t in heldOut)
            for (int i = 0; i < perTemplate; i++) list.Add(Make(t, Draw(rng, kind, target), PromptGroup.OutOfSet, synonym: false));
        // The synonym in the training templates: the name changes, nothing else does.
        string name = kind == "shape" ? WorldVocabulary.Shapes[target] : WorldVocabulary.Styles[target];
        if (WorldVocabulary.Synonyms.ContainsKey(name))
            for (int i = 0; i < perTemplate; i++)
                list.Add(Make(training[i % training.Length], Draw(rng, kind, target), PromptGroup.OutOfSet, synonym: true));
        // Attribute combinations pretraining never showed with the target, named in full.
        var triples = HeldOut.Triples().Where(x => (kind == "shape" ? x.Shape : x.Style) == target).Take(perTemplate);
        foreach (var (s, c, st) in triples)
            list.Add(Make("a {style} {colour} {shape}", Scene.Sample(rng, WorldModel.ImageSize, s, c, st), PromptGroup.OutOfSet, synonym: false));

        var close = CloseConcepts.TryGetValue(name, out var cs) ? cs : [];
        int count = kind == "shape" ? WorldVocabulary.Shapes.Length : WorldVocabulary.Styles.Length;
        for (int v = 0; v < count; v++)
        {
            if (v == target) continue;
            string vName = kind == "shape" ? WorldVocabulary.Shapes[v] : WorldVocabulary.Styles[v];
            var group = close.Contains(vName) ? PromptGroup.Close : PromptGroup.Other;
            for (int i = 0; i < perConcept; i++)
                list.Add(Make(training[(v + i) % training.Length], Draw(rng, kind, v), group, synonym: false));
        }
        return list;
    }

    /// <summary>The kind ("shape" or "style") and index of a concept word; colours and unknown words throw.</summary>
    public static (string Kind, int Index) Kind(string concept)
    {
        var c = WorldVocabulary.Concept(concept);
        if (c is null || c.Value.Kind == "colour")
            throw new ArgumentException($"'{concept}' is not a shape or a style of the world (shapes: {string.Join(", ", WorldVocabulary.Shapes)}; styles: {string.Join(", ", WorldVocabulary.Styles)})");
        return c.Value;
    }

    private static Scene Draw(Random rng, string kind, int value) =>
        kind == "shape" ? Scene.Sample(rng, WorldModel.ImageSize, shape: value) : Scene.Sample(rng, WorldModel.ImageSize, style: value);

    /// <summary>Fills the template; the labels are those of the attributes the template names.</summary>
    private static RulerPrompt Make(string template, Scene s, PromptGroup group, bool synonym)
    {
        string text = Captions.Fill(template, s, synonym ? new Random(0) : null, synonym ? 1.0 : 0);
        bool Names(string slot) => template.Contains(slot, StringComparison.Ordinal);
        return new RulerPrompt(text, group, Names("{shape}") ? s.Shape : -1, Names("{colour}") ? s.Colour : -1, Names("{style}") ? s.Style : -1);
    }
}
