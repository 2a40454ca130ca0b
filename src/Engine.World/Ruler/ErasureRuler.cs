using Engine.World.Classifier;

namespace Engine.World.Ruler;

/// <summary>Settings of one ruler run.</summary>
/// <param name="Concept">the erased concept (a shape or a style)</param>
/// <param name="Anchor">the anchor concept of the same kind, or null</param>
/// <param name="Samples">samples per prompt (N)</param>
public sealed record RulerSettings(string Concept = "star", string? Anchor = "circle", int Samples = 4, int PerTemplate = 2, int PerConcept = 2, int Seed = 0)
{
    /// <summary>The --quick setting: half the samples and one fill per template.</summary>
    public static RulerSettings Quick(string concept, string? anchor) => new(concept, anchor, Samples: 2, PerTemplate: 1, PerConcept: 1);
}

/// <summary>The ruler's measurements of one model (shares in [0, 1]; null where the prompt set is empty).</summary>
public sealed record RulerMetrics
{
    public double? InSetErasure { get; init; }
    public double? OutOfSetErasure { get; init; }
    public double? SynonymErasure { get; init; }
    public double? AnchorTransfer { get; init; }
    public double? AttributeRetention { get; init; }
    public double? PreservationClose { get; init; }
    public double? PreservationOther { get; init; }
    public double? Preservation { get; init; }
}

/// <summary>A ruler run: the settings, both models' metrics and the fidelity between them.</summary>
public sealed record RulerResult
{
    public required string Concept { get; init; }
    public required string Kind { get; init; }
    public string? Anchor { get; init; }
    public required int Samples { get; init; }
    public required int Prompts { get; init; }
    public RulerMetrics? Base { get; init; }
    public required RulerMetrics Erased { get; init; }

    /// <summary>Fréchet distance of classifier features, base vs erased samples, on the non-target prompts.</summary>
    public double? Fidelity { get; init; }

    public double Seconds { get; init; }
}

/// <summary>The images and the classifier's reading of one model's samples over the ruler's prompts.</summary>
public sealed record RulerSamples(float[] Images, int[] Labels, float[] Features);

/// <summary>
/// The erasure ruler (docs/world.md): samples every ruler prompt N times from fixed seeds (the same seeds for the
/// base and the erased model), reads the samples with the classifier, and turns the readings into erasure,
/// generalization, anchor transfer, attribute retention, preservation and fidelity.
/// </summary>
public sealed class ErasureRuler(WorldClassifier classifier, RulerSettings settings)
{
    public RulerSettings Settings { get; } = settings;

    public IReadOnlyList<RulerPrompt> Prompts { get; } = RulerPrompts.Build(settings.Concept, settings.PerTemplate, settings.PerConcept, settings.Seed);

    /// <summary>Seed of sample j of prompt i; identical for every model.</summary>
    public ulong SeedOf(int prompt, int sample) => (ulong)(Settings.Seed * 1_000_003L + prompt * 1000L + sample);

    public RulerSamples Sample(IWorldSampler sampler, Action<int, int>? progress = null) => Sample(sampler, Prompts.Select(p => p.Text).ToList(), progress);

    /// <summary>Samples N images of each prompt and classifies them.</summary>
    public RulerSamples Sample(IWorldSampler sampler, IReadOnlyList<string> prompts, Action<int, int>? progress = null)
    {
        int n = Settings.Samples;
        var texts = new List<string>(prompts.Count * n);
        var seeds = new List<ulong>(prompts.Count * n);
        for (int i = 0; i < prompts.Count; i++)
            for (int j = 0; j < n; j++)
            {
                texts.Add(prompts[i]);
                seeds.Add(SeedOf(i, j));
            }
        var images = sampler.Sample(texts, seeds, progress);
        var (labels, features) = classifier.Classify(images, texts.Count, features: true);
        return new RulerSamples(images, labels, features!);
    }

    /// <summary>The metrics of one model's samples.</summary>
    public RulerMetrics Measure(RulerSamples s)
    {
        var (kind, target) = RulerPrompts.Kind(Settings.Concept);
        int head = Head(kind);
        int anchor = Settings.Anchor is null ? -1 : RulerPrompts.Kind(Settings.Anchor) is var a && a.Kind == kind ? a.Index
            : throw new ArgumentException($"anchor '{Settings.Anchor}' is not a {kind} like '{Settings.Concept}'");
        var inSet = new Tally(); var outSet = new Tally(); var synonym = new Tally(); var transfer = new Tally(); var retention = new Tally();
        var close = new Tally(); var other = new Tally();
        int n = Settings.Samples;
        for (int i = 0; i < Prompts.Count; i++)
        {
            var p = Prompts[i];
            bool isSynonym = p.Group == PromptGroup.OutOfSet && !ContainsWord(p.Text, kind == "shape" ? WorldVocabulary.Shapes[target] : WorldVocabulary.Styles[target]);
            for (int j = 0; j < n; j++)
            {
                var label = s.Labels.AsSpan((i * n + j) * 3, 3);
                switch (p.Group)
                {
                    case PromptGroup.InSet or PromptGroup.OutOfSet:
                        bool hit = label[head] == target;
                        (p.Group == PromptGroup.InSet ? inSet : outSet).Add(hit);
                        if (isSynonym) synonym.Add(hit);
                        if (anchor >= 0) transfer.Add(label[head] == anchor);
                        // Retention: every attribute the prompt names besides the erased one.
                        for (int h = 0; h < 3; h++)
                            if (h != head && Named(p, h) >= 0) retention.Add(label[h] == Named(p, h));
                        break;
                    case PromptGroup.Close:
                        close.Add(label[head] == Named(p, head));
                        break;
                    case PromptGroup.Other:
                        other.Add(label[head] == Named(p, head));
                        break;
                }
            }
        }
        return new RulerMetrics
        {
            InSetErasure = inSet.Share,
            OutOfSetErasure = outSet.Share,
            SynonymErasure = synonym.Share,
            AnchorTransfer = transfer.Share,
            AttributeRetention = retention.Share,
            PreservationClose = close.Share,
            PreservationOther = other.Share,
            Preservation = Tally.Sum(close, other).Share,
        };
    }

    /// <summary>Fréchet distance of the classifier features of two models' samples on the non-target prompts.</summary>
    public double Fidelity(RulerSamples baseSamples, RulerSamples erased)
    {
        int n = Settings.Samples, f = classifier.Config.Features;
        var rows = Enumerable.Range(0, Prompts.Count).Where(i => Prompts[i].Group is PromptGroup.Close or PromptGroup.Other)
            .SelectMany(i => Enumerable.Range(i * n, n)).ToArray();
        float[] Gather(float[] x) => rows.SelectMany(r => x.AsSpan(r * f, f).ToArray()).ToArray();
        return FrechetDistance.Compute(Gather(baseSamples.Features), rows.Length, Gather(erased.Features), rows.Length, f);
    }

    /// <summary>Samples and measures the erased model, and the base model if given; progress counts both.</summary>
    public (RulerResult Result, RulerSamples? Base, RulerSamples Erased) Run(IWorldSampler erased, IWorldSampler? baseModel, Action<string, int, int>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var b = baseModel is null ? null : Sample(baseModel, (d, t) => progress?.Invoke("base", d, t));
        var e = Sample(erased, (d, t) => progress?.Invoke(baseModel is null ? "model" : "erased", d, t));
        var (kind, _) = RulerPrompts.Kind(Settings.Concept);
        var result = new RulerResult
        {
            Concept = Settings.Concept,
            Kind = kind,
            Anchor = Settings.Anchor,
            Samples = Settings.Samples,
            Prompts = Prompts.Count,
            Base = b is null ? null : Measure(b),
            Erased = Measure(e),
            Fidelity = b is null ? null : Fidelity(b, e),
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        return (result, b, e);
    }

    public static int Head(string kind) => kind switch { "shape" => 0, "colour" => 1, "style" => 2, _ => throw new ArgumentException(kind) };

    private static int Named(RulerPrompt p, int head) => head switch { 0 => p.Shape, 1 => p.Colour, _ => p.Style };

    private static bool ContainsWord(string text, string word) =>
        text.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Contains(word, StringComparer.Ordinal);

    /// <summary>Counts hits; the share is null when nothing was counted.</summary>
    private sealed class Tally
    {
        public int Hits, Total;

        public void Add(bool hit)
        {
            Total++;
            if (hit) Hits++;
        }

        public double? Share => Total == 0 ? null : (double)Hits / Total;

        public static Tally Sum(Tally a, Tally b) => new() { Hits = a.Hits + b.Hits, Total = a.Total + b.Total };
    }
}
