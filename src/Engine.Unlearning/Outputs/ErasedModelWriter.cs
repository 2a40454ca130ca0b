using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.IO;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Models.Unet;
using Engine.Unlearning.Data;

namespace Engine.Unlearning.Outputs;

/// <summary>
/// Writes the result of an erasure into an output folder:
/// <code>
/// model/              diffusers folder: unet/ weights rewritten, every other file hard-linked to the base (copied where links fail)
/// delta.safetensors   only the changed UNet tensors, diffusers names (<see cref="DeltaFile"/>)
/// model.safetensors   optional single-file checkpoint (<see cref="SingleFile.Save"/>)
/// manifest.json       the run: concept, hyperparameters, seed, base-model hash, steps, timings, file sizes, metrics
/// </code>
/// Atomic: everything is written into a hidden sibling folder first. A new output folder is that folder renamed; an
/// existing one (holding the run's log and plots, say) receives the entries by rename, manifest.json last, and
/// older copies of the entries are removed only once all new ones are in. Any failure removes the staging folder
/// and puts back what was moved, so the output holds either the complete old result or the complete new one.
/// </summary>
public static class ErasedModelWriter
{
    public const string ModelDir = "model", DeltaName = "delta.safetensors", SingleFileName = "model.safetensors", ManifestName = "manifest.json";
    public const string ManifestFormat = "doco-erased-model";

    /// <summary>The entries the writer owns inside the output folder, in commit order (the manifest, the "done" marker, last).</summary>
    private static readonly string[] Entries = [ModelDir, DeltaName, SingleFileName, ManifestName];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="baseModelFolder">the diffusers folder the UNet was loaded from</param>
    /// <param name="unet">the trained UNet (its weights on the CPU)</param>
    /// <param name="changedTensors">the UNet parameters training changed (diffusers names)</param>
    public static ErasedModelResult Write(string outputFolder, string baseModelFolder, UNet2DConditionModel unet,
        IReadOnlyCollection<string> changedTensors, ErasureRun run, ErasedModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(changedTensors);
        ArgumentNullException.ThrowIfNull(run);
        options ??= new ErasedModelOptions();
        string full = Path.GetFullPath(outputFolder).TrimEnd(Path.DirectorySeparatorChar);
        string baseFull = Path.GetFullPath(baseModelFolder);
        if (File.Exists(full)) throw new IOException($"output path {full} is a file; expected a folder (or nothing)");
        if (!Directory.Exists(Path.Combine(baseFull, "unet"))) throw new DirectoryNotFoundException($"base model {baseFull} is not a diffusers folder (no unet/)");
        var unknown = changedTensors.Where(n => !unet.Parameters.Layout.Contains(n)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"changed tensors that are not UNet parameters: {string.Join(", ", unknown)}", nameof(changedTensors));
        var changed = changedTensors.Distinct().Order(StringComparer.Ordinal).ToList();

        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string stage = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(stage);
            string baseHash = AnchorImageCache.ModelHash(baseFull);

            options.BeforeStage?.Invoke("model");
            var sources = WriteModel(baseFull, Path.Combine(stage, ModelDir), unet, options.StoreAs);

            options.BeforeStage?.Invoke("delta");
            DeltaFile.Save(Path.Combine(stage, DeltaName), unet, changed, baseHash);
            sources[DeltaName] = "written";

            if (options.SingleFile)
            {
                options.BeforeStage?.Invoke("single-file");
                using var arena = new NativeArena();
                var textEncoder = ModelFiles.LoadTextEncoder(Path.Combine(baseFull, "text_encoder"), arena);
                string vae = Path.Combine(baseFull, "vae");
                SingleFile.Save(Path.Combine(stage, SingleFileName), unet, textEncoder, Directory.Exists(vae) ? vae : null, options.StoreAs);
                sources[SingleFileName] = "written";
            }

            options.BeforeStage?.Invoke("manifest");
            var manifest = Manifest(run, baseFull, baseHash, changed, options, stage, sources);
            AtomicFile.WriteAllText(Path.Combine(stage, ManifestName), manifest.ToJsonString(Indented));

            options.BeforeStage?.Invoke("commit");
            Commit(stage, full);
            return new ErasedModelResult(full, Path.Combine(full, ModelDir), Path.Combine(full, DeltaName),
                options.SingleFile ? Path.Combine(full, SingleFileName) : null, Path.Combine(full, ManifestName), manifest);
        }
        finally
        {
            // After a successful commit into an existing folder this holds the replaced entries; after a failure, the new ones.
            if (Directory.Exists(stage)) Directory.Delete(stage, recursive: true);
        }
    }

    /// <summary>
    /// The diffusers folder: unet/ gets the trained weights (and the base's config.json); everything else is linked.
    /// Returns relative path → "written" | "linked" | "copied" for every file.
    /// </summary>
    private static Dictionary<string, string> WriteModel(string baseFolder, string dst, UNet2DConditionModel unet, SafetensorsDType storeAs)
    {
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        void Link(string from, string to)
        {
            bool linked = HardLink.LinkOrCopy(from, to);
            sources[Path.GetRelativePath(Path.GetDirectoryName(dst)!, to).Replace('\\', '/')] = linked ? "linked" : "copied";
        }
        void LinkTree(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var f in Directory.GetFiles(from)) Link(f, Path.Combine(to, Path.GetFileName(f)));
            foreach (var d in Directory.GetDirectories(from)) LinkTree(d, Path.Combine(to, Path.GetFileName(d)));
        }

        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(baseFolder)) Link(f, Path.Combine(dst, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(baseFolder))
        {
            string name = Path.GetFileName(d);
            if (name.StartsWith('.') || name == "unet") continue; // hidden: caches of download tools
            LinkTree(d, Path.Combine(dst, name));
        }

        string unetDir = Path.Combine(dst, "unet");
        Directory.CreateDirectory(unetDir);
        // The base's weight files (any variant: .fp16.safetensors, .bin) are replaced by one file; the rest (config.json) is kept.
        foreach (var f in Directory.GetFiles(Path.Combine(baseFolder, "unet")))
            if (!f.EndsWith(".safetensors", StringComparison.Ordinal) && !f.EndsWith(".bin", StringComparison.Ordinal)) Link(f, Path.Combine(unetDir, Path.GetFileName(f)));
        var w = new SafetensorsWriter();
        foreach (var p in unet.Parameters.Layout.Parameters) w.Add(p.Name, unet.Parameters.Weight(p.Name), unet.Parameters.Memory, storeAs);
        w.Save(Path.Combine(unetDir, "diffusion_pytorch_model.safetensors"));
        sources[$"{ModelDir}/unet/diffusion_pytorch_model.safetensors"] = "written";
        return sources;
    }

    private static JsonObject Manifest(ErasureRun run, string baseFolder, string baseHash, List<string> changed, ErasedModelOptions options,
        string stage, Dictionary<string, string> sources)
    {
        var files = new JsonObject();
        foreach (var (rel, how) in sources.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            files[rel] = new JsonObject { ["bytes"] = new FileInfo(Path.Combine(stage, rel)).Length, ["source"] = how };
        string info = typeof(ErasedModelWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        int plus = info.IndexOf('+', StringComparison.Ordinal);
        var m = new JsonObject
        {
            ["format"] = ManifestFormat,
            ["format_version"] = 1,
            ["method"] = run.Method,
            ["concept"] = run.Concept,
            ["anchor"] = run.Anchor,
            ["type"] = run.ConceptType,
            ["hyperparameters"] = run.Hyperparameters.DeepClone(),
            ["seed"] = run.Seed,
            ["base_model"] = new JsonObject { ["path"] = baseFolder, ["hash"] = baseHash },
            ["steps"] = run.Steps,
            ["skipped_steps"] = run.SkippedSteps,
            ["wall_seconds"] = run.WallSeconds,
            ["peak_memory_bytes"] = run.PeakMemoryBytes ?? Process.GetCurrentProcess().PeakWorkingSet64,
            ["weights_dtype"] = options.StoreAs.Name(),
            ["changed_tensors"] = new JsonArray([.. changed.Select(n => (JsonNode)JsonValue.Create(n)!)]),
            ["files"] = files,
            ["engine"] = new JsonObject
            {
                ["version"] = plus < 0 ? info : info[..plus],
                ["commit"] = plus < 0 ? null : info[(plus + 1)..],
            },
            ["created_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (run.Metrics is not null) m["metrics"] = run.Metrics.DeepClone();
        return m;
    }

    /// <summary>Moves the staged result into place (see the class summary); on failure undoes every move.</summary>
    private static void Commit(string stage, string full)
    {
        if (!Directory.Exists(full))
        {
            Directory.Move(stage, full);
            return;
        }
        string old = Path.Combine(stage, ".replaced");
        Directory.CreateDirectory(old);
        var undo = new Stack<(string From, string To)>();
        try
        {
            // The old manifest goes first, so that no state in between looks complete.
            foreach (var e in Entries.Reverse())
                if (Exists(Path.Combine(full, e))) { Move(Path.Combine(full, e), Path.Combine(old, e)); undo.Push((Path.Combine(old, e), Path.Combine(full, e))); }
            foreach (var e in Entries)
                if (Exists(Path.Combine(stage, e))) { Move(Path.Combine(stage, e), Path.Combine(full, e)); undo.Push((Path.Combine(full, e), Path.Combine(stage, e))); }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                while (undo.TryPop(out var m)) Move(m.From, m.To);
            }
            catch (Exception undoError) when (undoError is IOException or UnauthorizedAccessException)
            {
                // The staging folder now holds the only copy of some entries: it must outlive the caller's cleanup.
                string keep = stage + ".failed";
                Directory.Move(stage, keep);
                throw new IOException($"writing {full} failed ({e.Message}) and so did undoing it ({undoError.Message}); the earlier entries are in {keep}", e);
            }
            throw;
        }
    }

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    private static void Move(string from, string to)
    {
        if (Directory.Exists(from)) Directory.Move(from, to);
        else File.Move(from, to);
    }
}
