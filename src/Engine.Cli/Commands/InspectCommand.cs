using System.CommandLine;
using System.Globalization;
using Engine.IO.Safetensors;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco inspect &lt;file.safetensors | model folder&gt;</c>: every tensor (name, dtype, shape, bytes) as an aligned
/// table, totals (tensors, parameters, bytes per dtype) and metadata. For a folder (diffusers layout:
/// model_index.json and component subfolders) every *.safetensors file below it, grouped by file, then a grand total.
/// Exit 0 when everything read, 2 when a path is missing or a file is broken (the error goes to stderr).
/// </summary>
internal static class InspectCommand
{
    public sealed record Options(string Path);

    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "a .safetensors file or a model folder" };
        Options Bind(ParseResult parse) => new(parse.GetValue(path)!);
        return new BoundCommand<Options>("inspect", "List every tensor of a safetensors file or model folder.", Bind, Run) { path };
    }

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed class Totals
    {
        public int Files;
        public long Tensors;
        public long Parameters;
        public readonly SortedDictionary<SafetensorsDType, long> BytesByDType = [];

        public long Bytes => BytesByDType.Values.Sum();

        public void Add(Totals o)
        {
            Files += o.Files;
            Tensors += o.Tensors;
            Parameters += o.Parameters;
            foreach (var (k, v) in o.BytesByDType) BytesByDType[k] = BytesByDType.GetValueOrDefault(k) + v;
        }

        public string Describe() =>
            $"{Tensors.ToString("N0", Inv)} tensors, {Parameters.ToString("N0", Inv)} parameters, {Bytes.ToString("N0", Inv)} bytes ("
            + string.Join(", ", BytesByDType.Select(kv => $"{kv.Key}: {kv.Value.ToString("N0", Inv)}")) + ")";
    }

    /// <summary>The command itself, with its output streams given (tests pass StringWriters).</summary>
    internal static int Run(Options o, TextWriter stdout, TextWriter stderr)
    {
        string path = o.Path;
        if (File.Exists(path))
        {
            try
            {
                Print(path, path, stdout);
                return 0;
            }
            catch (SafetensorsException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        }
        if (!Directory.Exists(path))
        {
            stderr.WriteLine($"error: no such file or folder: {path}");
            return 2;
        }

        string[] files;
        try
        {
            files = Directory.EnumerateFiles(path, "*.safetensors", SearchOption.AllDirectories)
                .OrderBy(f => Path.GetRelativePath(path, f), StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot list {path}: {e.Message}");
            return 2;
        }
        if (files.Length == 0)
        {
            stderr.WriteLine($"error: no .safetensors files under {path}");
            return 2;
        }

        bool diffusers = File.Exists(Path.Combine(path, "model_index.json"));
        stdout.WriteLine($"{path}: {(diffusers ? "diffusers model folder, " : "")}{files.Length} safetensors file{(files.Length == 1 ? "" : "s")}");
        stdout.WriteLine();
        var grand = new Totals();
        int failed = 0;
        foreach (string f in files)
        {
            try
            {
                grand.Add(Print(f, Path.GetRelativePath(path, f), stdout));
            }
            catch (SafetensorsException e)
            {
                // Keep going: one broken component should not hide the others.
                stderr.WriteLine($"error: {e.Message}");
                failed++;
            }
            stdout.WriteLine();
        }
        stdout.WriteLine($"grand total: {grand.Files} file{(grand.Files == 1 ? "" : "s")}, {grand.Describe()}");
        if (failed > 0)
        {
            stderr.WriteLine($"error: {failed} of {files.Length} files could not be read");
            return 2;
        }
        return 0;
    }

    private static Totals Print(string file, string label, TextWriter o)
    {
        using var r = SafetensorsReader.Open(file);
        var totals = new Totals { Files = 1 };
        var rows = r.Tensors.Select(t => (t.Name, DType: t.DType.Name(), Shape: t.ShapeString(), Bytes: t.ByteLength.ToString("N0", Inv))).ToArray();
        int wName = Math.Max(4, rows.Length == 0 ? 0 : rows.Max(x => x.Name.Length));
        int wDType = Math.Max(5, rows.Length == 0 ? 0 : rows.Max(x => x.DType.Length));
        int wShape = Math.Max(5, rows.Length == 0 ? 0 : rows.Max(x => x.Shape.Length));
        int wBytes = Math.Max(5, rows.Length == 0 ? 0 : rows.Max(x => x.Bytes.Length));

        o.WriteLine($"{label}  ({new FileInfo(file).Length.ToString("N0", Inv)} bytes, header {r.Header.HeaderLength.ToString("N0", Inv)} bytes)");
        o.WriteLine($"  {"name".PadRight(wName)}  {"dtype".PadRight(wDType)}  {"shape".PadRight(wShape)}  {"bytes".PadLeft(wBytes)}");
        o.WriteLine($"  {new string('-', wName)}  {new string('-', wDType)}  {new string('-', wShape)}  {new string('-', wBytes)}");
        foreach (var x in rows)
            o.WriteLine($"  {x.Name.PadRight(wName)}  {x.DType.PadRight(wDType)}  {x.Shape.PadRight(wShape)}  {x.Bytes.PadLeft(wBytes)}");
        foreach (var t in r.Tensors)
        {
            totals.Tensors++;
            totals.Parameters += t.Numel;
            totals.BytesByDType[t.DType] = totals.BytesByDType.GetValueOrDefault(t.DType) + t.ByteLength;
        }
        o.WriteLine($"  total: {totals.Describe()}");
        if (r.Metadata.Count == 0)
        {
            o.WriteLine("  metadata: none");
        }
        else
        {
            o.WriteLine("  metadata:");
            foreach (var (k, v) in r.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) o.WriteLine($"    {k} = {v}");
        }
        return totals;
    }
}
