using System.Text;
using Engine.IO.Safetensors;
using Engine.Models.Unet;

namespace Engine.Unlearning.Outputs;

/// <summary>
/// delta.safetensors: the new values of the tensors an erasure changed (DoCo trains only cross-attention to_k/to_v),
/// under their diffusers UNet names, F32. Like DoCo's delta.bin and Custom Diffusion's deltas it holds replacement
/// weights, not differences: applying it to the base UNet overwrites those tensors and yields the erased UNet.
/// </summary>
public static class DeltaFile
{
    public const string FormatKey = "format", Format = "doco-delta", BaseModelHashKey = "base_model_hash";

    /// <summary>Writes the named UNet tensors (atomically, through <see cref="SafetensorsWriter"/>).</summary>
    public static void Save(string path, UNet2DConditionModel unet, IEnumerable<string> names, string? baseModelHash = null)
    {
        var w = new SafetensorsWriter();
        foreach (var name in names)
        {
            if (!unet.Parameters.Layout.Contains(name)) throw new ArgumentException($"'{name}' is not a UNet parameter", nameof(names));
            w.Add(name, unet.Parameters.Weight(name), unet.Parameters.Memory);
        }
        w.Metadata[FormatKey] = Format;
        if (baseModelHash is not null) w.Metadata[BaseModelHashKey] = baseModelHash;
        w.Save(path);
    }

    /// <summary>
    /// Overwrites the UNet's tensors with the delta's. Every tensor is checked first — a name the UNet does not have,
    /// a shape that differs, a dtype that is not a float — and all problems are reported in one error, so a bad delta
    /// leaves the UNet untouched. Returns the names applied.
    /// </summary>
    public static IReadOnlyList<string> Apply(string deltaPath, UNet2DConditionModel unet)
    {
        using var file = SafetensorsReader.Open(deltaPath);
        var layout = unet.Parameters.Layout;
        var problems = new StringBuilder();
        foreach (var t in file.Tensors)
        {
            if (!layout.Contains(t.Name))
                problems.Append($"\n  unknown tensor {t.Name}: the UNet has no parameter of that name");
            else if (!t.Shape.SequenceEqual(layout[t.Name].Shape.ToArray().Select(d => (long)d)))
                problems.Append($"\n  shape mismatch {t.Name}: delta has {t.ShapeString()}, UNet has {layout[t.Name].Shape}");
            else if (t.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64))
                problems.Append($"\n  {t.Name}: dtype {t.DType} is not a float type");
        }
        if (problems.Length > 0) throw new InvalidDataException($"{deltaPath} does not fit this UNet:{problems}");
        foreach (var t in file.Tensors) file.ReadF32(t.Name, unet.Parameters.Weight(t.Name), unet.Parameters.Memory);
        return file.Tensors.Select(t => t.Name).ToList();
    }
}
