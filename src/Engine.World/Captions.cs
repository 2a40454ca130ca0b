namespace Engine.World;

/// <summary>
/// Captions of scenes. Pretraining sees every template; the erasure trains on <see cref="TrainingTemplates"/> only,
/// so that <see cref="HeldOutTemplates"/> and the synonyms measure how far the erasure generalizes (the paper's
/// out-of-set prompts). Placeholders: {shape}, {colour}, {style}, {background}.
/// </summary>
public static class Captions
{
    public static readonly string[] TrainingTemplates =
    [
        "a {colour} {shape}",
        "a {style} {colour} {shape}",
        "a {style} {colour} {shape} on a {background} background",
        "a drawing of a {colour} {shape}",
        "a picture of a {style} {shape}",
        "{shape}, {colour}, {style}",
    ];

    public static readonly string[] HeldOutTemplates =
    [
        "an image of a {colour} {style} {shape}",
        "a {shape} that is {colour}",
        "{colour} {shape} on {background}",
        "a {shape}",
    ];

    public static IEnumerable<string> AllTemplates => TrainingTemplates.Concat(HeldOutTemplates);

    /// <summary>Fills a template. Where a synonym exists it replaces the shape (style) name with the given probability.</summary>
    public static string Fill(string template, Scene s, Random? rng = null, double synonymProbability = 0)
    {
        string shape = MaybeSynonym(s.ShapeName, rng, synonymProbability);
        string style = MaybeSynonym(s.StyleName, rng, synonymProbability);
        return template.Replace("{shape}", shape, StringComparison.Ordinal).Replace("{colour}", s.ColourName, StringComparison.Ordinal)
            .Replace("{style}", style, StringComparison.Ordinal).Replace("{background}", s.BackgroundName, StringComparison.Ordinal);
    }

    /// <summary>
    /// A pretraining caption: a random template, each attribute but the shape dropped with some probability
    /// (a template without it is picked then), synonyms 20 % of the time, and an empty caption 10 % of the time so that
    /// the model also learns the unconditional prediction classifier-free guidance needs.
    /// </summary>
    /// <param name="styleShare">
    /// When given, the share of non-empty captions that name the style, in place of the default mix (where about a
    /// third do: style is dropped a quarter of the time and half of the templates lack it). Stripes and dots are the
    /// finest detail of the world; the shipped model learned them on a share of 0.75 (docs/world.md).
    /// </param>
    public static string ForPretraining(Scene s, Random rng, double? styleShare = null)
    {
        if (rng.NextDouble() < 0.1) return "";
        bool dropColour = rng.NextDouble() < 0.15;
        // Whether the template must name the style (true), must not (false), or may do either (null).
        bool? nameStyle = styleShare is { } share ? rng.NextDouble() < share : rng.NextDouble() < 0.25 ? false : null;
        var fits = AllTemplates.Where(t => (!dropColour || !t.Contains("{colour}", StringComparison.Ordinal))
                                        && (nameStyle is not { } named || t.Contains("{style}", StringComparison.Ordinal) == named)).ToArray();
        return Fill(fits[rng.Next(fits.Length)], s, rng, 0.2);
    }

    static string MaybeSynonym(string name, Random? rng, double p) =>
        rng is not null && p > 0 && WorldVocabulary.Synonyms.TryGetValue(name, out var syn) && rng.NextDouble() < p ? syn : name;

    /// <summary>Every distinct word the captions use (for the tokenizer's vocabulary).</summary>
    public static IEnumerable<string> Words() =>
        AllTemplates.SelectMany(t => t.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries)).Where(w => !w.StartsWith('{'))
            .Concat(WorldVocabulary.Shapes).Concat(WorldVocabulary.Colours).Concat(WorldVocabulary.Styles)
            .Concat(WorldVocabulary.Backgrounds.SelectMany(b => b.Split(' '))).Concat(WorldVocabulary.Synonyms.Values)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
}
