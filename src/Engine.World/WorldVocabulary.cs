namespace Engine.World;

/// <summary>
/// The attributes of the built-in world and their names (docs/world.md). Every image holds one object with a
/// shape, a colour, a style and a background; the index of each is its ground-truth label.
/// </summary>
public static class WorldVocabulary
{
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star", "heart", "cross", "diamond", "ring"];

    public static readonly string[] Colours = ["red", "green", "blue", "yellow", "purple", "orange", "cyan", "white"];

    public static readonly string[] Styles = ["plain", "striped", "dotted", "outline"];

    public static readonly string[] Backgrounds = ["black", "gray", "dark blue"];

    /// <summary>Second names of shapes and styles, so that a concept has several names (as "van gogh" and "vincent").</summary>
    public static readonly IReadOnlyDictionary<string, string> Synonyms = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["star"] = "pentagram",
        ["circle"] = "disc",
        ["square"] = "box",
        ["cross"] = "plus",
        ["diamond"] = "rhombus",
        ["ring"] = "donut",
        ["heart"] = "valentine",
        ["triangle"] = "wedge",
        ["striped"] = "banded",
        ["dotted"] = "spotted",
        ["outline"] = "hollow",
    };

    /// <summary>sRGB of each colour, chosen to stay distinct after the model's blur.</summary>
    public static readonly (byte R, byte G, byte B)[] ColourRgb =
    [
        (220, 40, 40), (40, 180, 60), (50, 90, 235), (240, 220, 40), (150, 60, 200), (250, 140, 30), (40, 210, 220), (245, 245, 245),
    ];

    public static readonly (byte R, byte G, byte B)[] BackgroundRgb = [(0, 0, 0), (110, 110, 110), (20, 25, 80)];

    public static int ShapeIndex(string name) => IndexOf(Shapes, name, "shape");

    public static int ColourIndex(string name) => IndexOf(Colours, name, "colour");

    public static int StyleIndex(string name) => IndexOf(Styles, name, "style");

    /// <summary>Which attribute a concept word names (a shape or a style, by its name or its synonym), or null.</summary>
    public static (string Kind, int Index)? Concept(string word)
    {
        string canonical = Synonyms.FirstOrDefault(p => p.Value == word).Key ?? word;
        int s = Array.IndexOf(Shapes, canonical);
        if (s >= 0) return ("shape", s);
        int st = Array.IndexOf(Styles, canonical);
        if (st >= 0) return ("style", st);
        int c = Array.IndexOf(Colours, canonical);
        return c >= 0 ? ("colour", c) : null;
    }

    static int IndexOf(string[] names, string name, string what)
    {
        int i = Array.IndexOf(names, name);
        return i >= 0 ? i : throw new ArgumentException($"unknown {what} '{name}' (one of: {string.Join(", ", names)})");
    }
}
