using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engine.World.Classifier;

/// <summary>Accuracy of each head on one evaluation set.</summary>
public sealed record HeadAccuracy(
    [property: JsonPropertyName("shape")] double Shape,
    [property: JsonPropertyName("colour")] double Colour,
    [property: JsonPropertyName("style")] double Style)
{
    public override string ToString() => $"shape {Shape:P1}, colour {Colour:P1}, style {Style:P1}";
}

/// <summary>
/// The classifier's architecture and what was measured when it was trained; stored as config.json next to
/// classifier.safetensors. Convolutions 3×3 (the first at stride 1, the rest at stride 2), each followed by
/// GroupNorm and SiLU, then a linear layer to <see cref="Features"/> (SiLU; the penultimate features used for the
/// Fréchet distance) and one linear layer producing the logits of all heads.
/// </summary>
public sealed record ClassifierConfig
{
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "conv3x3-groupnorm-silu";
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = WorldModel.ImageSize;
    [JsonPropertyName("channels")] public int[] Channels { get; init; } = [32, 64, 64, 128];
    [JsonPropertyName("norm_groups")] public int NormGroups { get; init; } = 8;
    [JsonPropertyName("features")] public int Features { get; init; } = 128;
    [JsonPropertyName("heads")] public int[] Heads { get; init; } = [WorldVocabulary.Shapes.Length, WorldVocabulary.Colours.Length, WorldVocabulary.Styles.Length];
    [JsonPropertyName("head_names")] public string[] HeadNames { get; init; } = ["shape", "colour", "style"];

    [JsonPropertyName("training")] public ClassifierTraining? Training { get; init; }
    [JsonPropertyName("accuracy_clean")] public HeadAccuracy? AccuracyClean { get; init; }
    [JsonPropertyName("accuracy_augmented")] public HeadAccuracy? AccuracyAugmented { get; init; }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TrimNote.Json)]
    public static ClassifierConfig FromJson(string json) =>
        JsonSerializer.Deserialize<ClassifierConfig>(json) ?? throw new InvalidDataException("classifier config.json is empty");
}

/// <summary>How the shipped classifier was trained (recorded in its config).</summary>
public sealed record ClassifierTraining(
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("learning_rate")] float LearningRate,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("final_loss")] double FinalLoss,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("command")] string Command);
