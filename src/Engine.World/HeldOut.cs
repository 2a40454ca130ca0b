namespace Engine.World;

/// <summary>
/// Attribute combinations pretraining never shows (about one in eleven shape–colour–style triples). Every shape–colour,
/// shape–style and colour–style pair still occurs, so a held-out triple tests composition, not a missing word.
/// The quality bar is measured on these.
/// </summary>
public static class HeldOut
{
    public static bool IsHeldOut(int shape, int colour, int style) => (shape * 3 + colour * 5 + style * 7) % 11 == 0;

    public static IEnumerable<(int Shape, int Colour, int Style)> Triples()
    {
        for (int s = 0; s < WorldVocabulary.Shapes.Length; s++)
            for (int c = 0; c < WorldVocabulary.Colours.Length; c++)
                for (int st = 0; st < WorldVocabulary.Styles.Length; st++)
                    if (IsHeldOut(s, c, st)) yield return (s, c, st);
    }

    /// <summary>As many trained triples as there are held-out ones, spread over the grid: the same check on seen combinations.</summary>
    public static IEnumerable<(int Shape, int Colour, int Style)> TrainedTriples()
    {
        int n = Triples().Count();
        var seen = new HashSet<(int, int, int)>();
        // Styles in turn, shapes and colours stepped by numbers prime to 8, so every attribute comes up about equally.
        for (int i = 0; seen.Count < n; i++)
        {
            var t = (Shape: i * 3 % WorldVocabulary.Shapes.Length, Colour: (i * 5 + i / 8) % WorldVocabulary.Colours.Length, Style: i % WorldVocabulary.Styles.Length);
            if (!IsHeldOut(t.Shape, t.Colour, t.Style) && seen.Add(t)) yield return t;
        }
    }

    /// <summary>A training scene: resampled until its triple is not held out.</summary>
    public static Scene SampleTraining(Random rng, int canvas)
    {
        while (true)
        {
            var s = Scene.Sample(rng, canvas);
            if (!IsHeldOut(s.Shape, s.Colour, s.Style)) return s;
        }
    }
}
