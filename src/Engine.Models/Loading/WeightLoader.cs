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
    /// <param name="squeezable">parameters whose file tensor may carry extra trailing 1-sized dims (LDM's 1×1-conv form of a Linear weight)</param>
    /// <param name="fileKeyOf">parameter name → the key the file should have held, to name missing tensors in the file's terms</param>
    public static void Load(ParameterStore store, IReadOnlyList<SafetensorsReader> files, Func<string, string?> mapName, string what,
        Func<string, bool>? squeezable = null, Func<string, string?>? fileKeyOf = null)
    {
        var problems = Plan(store, files, mapName, what, squeezable, fileKeyOf, out var sources);
        if (problems is not null) throw new InvalidDataException(problems);
        foreach (var p in store.Layout.Parameters)
        {
            var (file, info) = sources[p.Name];
            file.ReadF32(info.Name, store.Weight(p.Name), store.Memory);
        }
    }

    /// <summary>
    /// The one error <see cref="Load"/> would throw, or null when the files fit the model. Lets a caller that fills
    /// several models from one file check them all first and report every problem together.
    /// </summary>
    public static string? Diagnose(ParameterStore store, IReadOnlyList<SafetensorsReader> files, Func<string, string?> mapName, string what,
        Func<string, bool>? squeezable = null, Func<string, string?>? fileKeyOf = null) =>
        Plan(store, files, mapName, what, squeezable, fileKeyOf, out _);

    private static string? Plan(ParameterStore store, IReadOnlyList<SafetensorsReader> files, Func<string, string?> mapName, string what,
        Func<string, bool>? squeezable, Func<string, string?>? fileKeyOf, out Dictionary<string, (SafetensorsReader File, SafetensorsTensorInfo Info)> sources)
    {
        var layout = store.Layout;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var found = new Dictionary<string, (SafetensorsReader File, SafetensorsTensorInfo Info)>();
        sources = found;
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
                if (!SameShape(info, expected, squeezable?.Invoke(name) == true))
                {
                    mismatched.Add($"{info.Name}: file has [{string.Join(", ", info.Shape)}], model expects {expected}");
                    seen.Add(name);
                    continue;
                }
                if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64))
                {
                    mismatched.Add($"{info.Name}: dtype {info.DType} is not a float type");
                    seen.Add(name);
                    continue;
                }
                if (!found.TryAdd(name, (file, info))) duplicated.Add($"{name} (from {info.Name})");
            }
        }
        // A tensor present with the wrong shape is reported as a mismatch, not also as missing.
        var missing = layout.Parameters.Where(p => !found.ContainsKey(p.Name) && !seen.Contains(p.Name))
            .Select(p => fileKeyOf is null ? p.Name : $"{p.Name} (file key {fileKeyOf(p.Name)})").ToList();
        if (missing.Count + unexpected.Count + mismatched.Count + duplicated.Count > 0)
        {
            var sb = new StringBuilder($"{what}: the weights do not match the model ({string.Join(", ", files.Select(f => f.FilePath))})");
            Append(sb, "missing", missing);
            Append(sb, "unexpected", unexpected);
            Append(sb, "shape or dtype mismatch", mismatched);
            Append(sb, "given twice", duplicated);
            return sb.ToString();
        }
        return null;
    }

    private static bool SameShape(SafetensorsTensorInfo info, Engine.Tensors.Shape expected, bool squeezable)
    {
        int rank = info.Rank;
        // [C, C, 1, 1] holds the same bytes as [C, C]: accept the trailing ones where the caller says so.
        while (squeezable && rank > expected.Rank && info.Shape[rank - 1] == 1) rank--;
        if (rank != expected.Rank) return false;
        for (int i = 0; i < rank; i++)
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
