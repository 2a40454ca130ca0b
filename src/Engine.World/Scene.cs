namespace Engine.World;

/// <summary>
/// One image of the world: the labels and the geometry. <see cref="Size"/> is the object's extent as a fraction
/// of the canvas, <see cref="X"/>/<see cref="Y"/> its centre in pixels, <see cref="Rotation"/> in degrees.
/// </summary>
public sealed record Scene(int Shape, int Colour, int Style, int Background, float Size, float X, float Y, float Rotation)
{
    public string ShapeName => WorldVocabulary.Shapes[Shape];

    public string ColourName => WorldVocabulary.Colours[Colour];

    public string StyleName => WorldVocabulary.Styles[Style];

    public string BackgroundName => WorldVocabulary.Backgrounds[Background];

    public override string ToString() => $"{StyleName} {ColourName} {ShapeName} on {BackgroundName}";

    /// <summary>
    /// A random scene with the given labels (any label &lt; 0 is drawn at random). The blue object never sits on the
    /// dark blue background, the only pair too close to tell apart.
    /// </summary>
    public static Scene Sample(Random rng, int canvas, int shape = -1, int colour = -1, int style = -1, int background = -1)
    {
        shape = shape >= 0 ? shape : rng.Next(WorldVocabulary.Shapes.Length);
        colour = colour >= 0 ? colour : rng.Next(WorldVocabulary.Colours.Length);
        style = style >= 0 ? style : rng.Next(WorldVocabulary.Styles.Length);
        if (background < 0)
            do background = rng.Next(WorldVocabulary.Backgrounds.Length); while (colour == 2 && background == 2);
        float size = 0.45f + 0.35f * rng.NextSingle();
        float half = size * canvas / 2;
        float slack = canvas / 2f - half;
        float x = canvas / 2f + (2 * rng.NextSingle() - 1) * slack * 0.8f;
        float y = canvas / 2f + (2 * rng.NextSingle() - 1) * slack * 0.8f;
        // Rotation only where it cannot turn one shape into another (a square turned 45° is a diamond).
        float maxTurn = WorldVocabulary.Shapes[shape] switch { "circle" or "ring" => 0f, "star" => 36f, "triangle" => 30f, _ => 15f };
        float rotation = (2 * rng.NextSingle() - 1) * maxTurn;
        return new Scene(shape, colour, style, background, size, x, y, rotation);
    }
}
