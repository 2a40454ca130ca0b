using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.IO.Safetensors;

namespace Engine.Unlearning;

public sealed partial class ErasureTrainer
{
    private const string CheckpointFormat = "doco-checkpoint-v1";

    /// <summary>
    /// Writes the whole run state to one safetensors file, atomically (temporary file + rename): the trainable tensors
    /// (flat, in layout order), their AdamW moments, the discriminator's weights, Adam moments and BatchNorm running
    /// statistics, and in the metadata the step counters and the seed. The RNG state is the step counter: every draw
    /// is a Philox stream at an offset computed from the step.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        var w = new SafetensorsWriter();
        w.Add("unet.trainable", _unet.Parameters.TrainableWeights, _state);
        w.Add("unet.adam_m", _m, _state);
        w.Add("unet.adam_v", _v, _state);
        if (Discriminator is { } d)
        {
            w.Add("d.weights", d.Parameters.Weights, _state);
            w.Add("d.adam_m", _dm, _state);
            w.Add("d.adam_v", _dv, _state);
            foreach (var (name, norm) in d.Norms)
            {
                w.Add($"d.{name}.running_mean", norm.RunningMean, _state);
                w.Add($"d.{name}.running_var", norm.RunningVar, _state);
            }
        }
        foreach (var (key, value) in Identity()) w.Metadata[key] = value;
        w.Metadata["step"] = Step.ToString(CultureInfo.InvariantCulture);
        w.Metadata["generator_steps"] = GeneratorSteps.ToString(CultureInfo.InvariantCulture);
        w.Metadata["discriminator_steps"] = DiscriminatorSteps.ToString(CultureInfo.InvariantCulture);
        w.Metadata["skipped_steps"] = SkippedSteps.ToString(CultureInfo.InvariantCulture);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        w.Save(path);
    }

    /// <summary>The iterations a checkpoint has done (its "step"), from its header: what a resumed run has left.</summary>
    public static int CheckpointStep(string path)
    {
        using var r = SafetensorsReader.Open(path);
        return Int(r, "step");
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/> for the same method, seed, batch and trainable
    /// tensors (InvalidDataException naming the mismatch otherwise). The UNet must hold the base model's weights
    /// (θ₀ is taken from them at construction); the trainable tensors are then overwritten.
    /// </summary>
    public void LoadCheckpoint(string path)
    {
        using var r = SafetensorsReader.Open(path);
        foreach (var (key, value) in Identity())
        {
            if (!r.Metadata.TryGetValue(key, out var stored))
                throw new InvalidDataException($"{path}: not a {CheckpointFormat} file (no '{key}' in its metadata)");
            if (stored != value)
                throw new InvalidDataException($"{path}: checkpoint {key} is '{stored}', this run has '{value}'");
        }
        r.ReadF32("unet.trainable", _unet.Parameters.TrainableWeights, _state);
        r.ReadF32("unet.adam_m", _m, _state);
        r.ReadF32("unet.adam_v", _v, _state);
        if (Discriminator is { } d)
        {
            r.ReadF32("d.weights", d.Parameters.Weights, _state);
            r.ReadF32("d.adam_m", _dm, _state);
            r.ReadF32("d.adam_v", _dv, _state);
            foreach (var (name, norm) in d.Norms)
            {
                r.ReadF32($"d.{name}.running_mean", norm.RunningMean, _state);
                r.ReadF32($"d.{name}.running_var", norm.RunningVar, _state);
            }
        }
        Step = Int(r, "step");
        GeneratorSteps = Int(r, "generator_steps");
        DiscriminatorSteps = Int(r, "discriminator_steps");
        SkippedSteps = Int(r, "skipped_steps");
    }

    /// <summary>What a checkpoint must agree on with the run that resumes it.</summary>
    private IEnumerable<(string Key, string Value)> Identity()
    {
        var s = Settings;
        var names = string.Join("\n", _unet.Parameters.Layout.Parameters.Where(p => p.Trainable).Select(p => $"{p.Name} {p.Shape}"));
        yield return ("format", CheckpointFormat);
        yield return ("method", s.Method.ToString());
        yield return ("seed", s.Seed.ToString(CultureInfo.InvariantCulture));
        yield return ("batch", s.Batch.ToString(CultureInfo.InvariantCulture));
        yield return ("anchor_images", _in.Count.ToString(CultureInfo.InvariantCulture));
        yield return ("trainable", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(names))));
    }

    private static int Int(SafetensorsReader r, string key) =>
        r.Metadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= 0
            ? i
            : throw new InvalidDataException($"{r.FilePath}: checkpoint metadata '{key}' is missing or not a count");
}
