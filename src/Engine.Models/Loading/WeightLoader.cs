using System.Text;
using Engine.IO.Safetensors;
using Engine.Nn;

namespace Engine.Models.Loading;

/// <summary>
/// Fills a <see cref="ParameterStore"/> from safetensors files. Every problem is collected first —
/// missing tensors, unexpected tensors, shape mismatches — and reported in one error; only a file set that
/// passes is copied, so a model is never half-loaded.
/// </summary>
public static class WeightLoader
{
    /// <param name="mapName">file key → parameter name, or null for a key to skip on purpose (EMA, buffers)</param>
    public static void Load(ParameterStore store, IReadOnlyList<SafetensorsReader> files, Func<string, string?> mapName, string what)
    {
        var layout = store.Layout;
        var sources = new Dictionary<string, (SafetensorsReader File, SafetensorsTensorInfo Info)>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        var duplicated = new List<string>();
        foreach (var file in files)
        {
            foreach (var info in file.Tensors)
            {
                var name = mapName(info.Name);
                if (name is null) continue;
                if (!layout.Contains(name))
                {
                    unexpected.Add($"{info.Name} ({Path.GetFileName(file.FilePath)})");
                    continue;
                }
                var expected = layout[name].Shape;
                if (!SameShape(info, expected))
                {
                    mismatched.Add($"{info.Name}: file has [{string.Join(", ", info.Shape)}], model expects {expected}");
                    continue;
                }
                if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64))
                {
                    mismatched.Add($"{info.Name}: dtype {info.DType} is not a float type");
                    continue;
                }
                if (!sources.TryAdd(name, (file, info))) duplicated.Add($"{name} (from {info.Name})");
            }
        }
        var missing = layout.Parameters.Where(p => !sources.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        if (missing.Count + unexpected.Count + mismatched.Count + duplicated.Count > 0)
        {
            var sb = new StringBuilder($"{what}: the weights do not match the model ({string.Join(", ", files.Select(f => f.FilePath))})");
            Append(sb, "missing", missing);
            Append(sb, "unexpected", unexpected);
            Append(sb, "shape or dtype mismatch", mismatched);
            Append(sb, "given twice", duplicated);
            throw new InvalidDataException(sb.ToString());
        }
        foreach (var p in layout.Parameters)
        {
            var (file, info) = sources[p.Name];
            file.ReadF32(info.Name, store.Weight(p.Name));
        }
    }

    private static bool SameShape(SafetensorsTensorInfo info, Engine.Tensors.Shape expected)
    {
        if (info.Rank != expected.Rank) return false;
        for (int i = 0; i < info.Rank; i++)
            if (info.Shape[i] != expected[i]) return false;
        return true;
    }

    private static void Append(StringBuilder sb, string title, List<string> items)
    {
        if (items.Count == 0) return;
        sb.Append($"\n  {title} ({items.Count}):");
        foreach (var item in items.Take(50)) sb.Append("\n    ").Append(item);
        if (items.Count > 50) sb.Append($"\n    ... and {items.Count - 50} more");
    }
}
