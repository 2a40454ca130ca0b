using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Models.Loading;
using Engine.Unlearning.Outputs;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco lora &lt;erased-dir&gt; --rank R [--out DIR]</c>: a finished erasure as LoRA files. Reads the run's
/// manifest.json (the base model folder), the base UNet and delta.safetensors (the trained tensors' new values) and
/// writes <c>&lt;out or erased-dir&gt;/lora/</c> kohya.safetensors, pytorch_lora_weights.safetensors and lora.json
/// (<see cref="LoraExport"/>); prints the overall relative error. A bad argument or input: one line on stderr, exit 2,
/// nothing written.
/// </summary>
internal static class LoraCommand
{
    public sealed record Options(string ErasedDir, int Rank, string? Out);

    public static Command Create()
    {
        var dir = new Argument<string>("erased-dir") { Description = "the output folder of doco erase (manifest.json, delta.safetensors)" };
        var rank = new Option<int>("--rank") { Description = "LoRA rank R (per tensor at most min(out, in))", DefaultValueFactory = _ => 4 };
        var output = new Option<string?>("--out") { Description = "folder to write lora/ into (default: the erased folder)" };
        Options Bind(ParseResult parse) => new(parse.GetValue(dir)!, parse.GetValue(rank), parse.GetValue(output));
        return new BoundCommand<Options>("lora", "Export a finished erasure as LoRA files (kohya and diffusers formats).", Bind, Run) { dir, rank, output };
    }

    internal static int Run(Options o, TextWriter stdout, TextWriter stderr)
    {
        if (o.Rank < 1) return Fail(stderr, $"--rank must be at least 1, got {o.Rank}");
        if (!Directory.Exists(o.ErasedDir)) return Fail(stderr, $"no such folder: {o.ErasedDir}");
        string manifestPath = Path.Combine(o.ErasedDir, ErasedModelWriter.ManifestName);
        string deltaPath = Path.Combine(o.ErasedDir, ErasedModelWriter.DeltaName);
        if (!File.Exists(manifestPath) || !File.Exists(deltaPath))
            return Fail(stderr, $"{o.ErasedDir} is not a doco erase output (no {ErasedModelWriter.ManifestName} or {ErasedModelWriter.DeltaName})");
        try
        {
            var (baseFolder, hash) = ReadManifest(manifestPath);
            string baseWeights = ModelFiles.WeightFile(Path.Combine(baseFolder, "unet"));
            string folder = Path.Combine(o.Out ?? o.ErasedDir, LoraExport.FolderName);
            var result = LoraExport.Write(baseWeights, deltaPath, o.Rank, folder, hash);
            foreach (var s in result.Skipped) stderr.WriteLine($"warning: {s} is not a 2-D weight; the LoRA leaves it out");
            stdout.WriteLine($"wrote {result.KohyaPath}, {result.DiffusersPath} and {result.JsonPath}");
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rank {o.Rank}: {result.Tensors.Count} tensors, overall relative error {result.OverallError:G4} (max per tensor {result.Tensors.Max(t => t.RelativeError):G4})"));
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or JsonException or InvalidOperationException or Engine.IO.Safetensors.SafetensorsException)
        {
            return Fail(stderr, e.Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>The base model folder and hash the manifest names; a manifest of another format is not an erase output.</summary>
    private static (string Folder, string? Hash) ReadManifest(string path)
    {
        var m = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
        if (m?["format"]?.GetValue<string>() != ErasedModelWriter.ManifestFormat)
            throw new InvalidDataException($"{path} is not a doco erase manifest (format is not {ErasedModelWriter.ManifestFormat})");
        string? folder = m["base_model"]?["path"]?.GetValue<string>();
        if (string.IsNullOrEmpty(folder)) throw new InvalidDataException($"{path} names no base_model.path");
        if (!Directory.Exists(Path.Combine(folder, "unet"))) throw new DirectoryNotFoundException($"base model {folder} (from {path}) has no unet/ folder");
        return (folder, m["base_model"]?["hash"]?.GetValue<string>());
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"doco lora: {message}");
        return 2;
    }
}
