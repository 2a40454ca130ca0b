using System.Text.Json.Nodes;
using Engine.IO.Safetensors;

namespace Engine.Unlearning.Outputs;

/// <summary>What <see cref="ErasedModelWriter"/> records about the run in manifest.json.</summary>
public sealed record ErasureRun
{
    public string Method { get; init; } = "doco";
    /// <summary>The erased concept, e.g. "Van Gogh".</summary>
    public required string Concept { get; init; }
    /// <summary>The anchor concept the erased one is steered towards, e.g. "painting".</summary>
    public string? Anchor { get; init; }
    /// <summary>The concept type (object, style, nudity, ...).</summary>
    public string? ConceptType { get; init; }
    /// <summary>Every hyperparameter of the run, as the trainer names them; copied into the manifest.</summary>
    public JsonObject Hyperparameters { get; init; } = [];
    public long Seed { get; init; }
    /// <summary>Optimisation steps run, and how many of them were skipped (non-finite loss or gradient).</summary>
    public int Steps { get; init; }
    public int SkippedSteps { get; init; }
    public double WallSeconds { get; init; }
    /// <summary>Peak memory of the run in bytes; null = this process's peak working set.</summary>
    public long? PeakMemoryBytes { get; init; }
    /// <summary>Evaluation results when there are any (copied into the manifest as given).</summary>
    public JsonObject? Metrics { get; init; }
}

/// <summary>Choices for <see cref="ErasedModelWriter.Write"/>.</summary>
public sealed record ErasedModelOptions
{
    /// <summary>Also write model.safetensors, a single-file (LDM-named) checkpoint of UNet, text encoder and VAE.</summary>
    public bool SingleFile { get; init; }
    /// <summary>The dtype of the rewritten UNet weights (and the single file); the delta is always F32.</summary>
    public SafetensorsDType StoreAs { get; init; } = SafetensorsDType.F32;
    /// <summary>Test hook: called with "model", "delta", "single-file", "manifest", "commit" before each stage.</summary>
    internal Action<string>? BeforeStage { get; init; }
}

/// <summary>Where <see cref="ErasedModelWriter.Write"/> put things, and the manifest it wrote.</summary>
public sealed record ErasedModelResult(string Folder, string ModelFolder, string DeltaPath, string? SingleFilePath, string ManifestPath, JsonObject Manifest);
