using System.Text.RegularExpressions;

namespace Engine.Cuda;

/// <summary>One kernels/*.cu file: its text and its extern "C" __global__ entry points, in file order.</summary>
public sealed record KernelSource(string File, string Text, IReadOnlyList<string> Entries);

/// <summary>The kernel sources embedded in this assembly (kernels/*.cu, one file per op family).</summary>
public static partial class KernelSources
{
    private static readonly Lazy<IReadOnlyList<KernelSource>> Sources = new(Load);

    public static IReadOnlyList<KernelSource> All => Sources.Value;

    public static KernelSource Get(string file) =>
        All.FirstOrDefault(s => s.File == file || s.File == "kernels/" + file)
        ?? throw new ArgumentException($"no embedded kernel source {file}", nameof(file));

    /// <summary>The file that defines the entry point <paramref name="entry"/>.</summary>
    public static KernelSource ForEntry(string entry) =>
        All.FirstOrDefault(s => s.Entries.Contains(entry))
        ?? throw new ArgumentException($"no kernel named {entry} in kernels/*.cu", nameof(entry));

    public static IReadOnlyList<string> EntryPoints(string text) =>
        [.. EntryRegex().Matches(text).Select(m => m.Groups[1].Value)];

    [GeneratedRegex(@"^extern ""C"" __global__ void (\w+)\s*\(", RegexOptions.Multiline)]
    private static partial Regex EntryRegex();

    private static IReadOnlyList<KernelSource> Load()
    {
        var assembly = typeof(KernelSources).Assembly;
        var list = new List<KernelSource>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("kernels/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            string text = reader.ReadToEnd();
            list.Add(new KernelSource(name, text, EntryPoints(text)));
        }
        return list;
    }
}
