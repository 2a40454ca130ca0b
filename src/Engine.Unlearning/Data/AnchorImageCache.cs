using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engine.Diffusion.Pipelines;
using Engine.IO.Safetensors;

namespace Engine.Unlearning.Data;

/// <summary>
/// How anchor images are sampled: image count (prompts cycled), DDIM steps, guidance scale, eta, base seed, and
/// <paramref name="Batch"/>, the most images that go through the UNet together (a UNet batch of 2·Batch with guidance).
/// </summary>
/// <remarks>
/// The official code samples 1000 images with DPM-Solver, 25 steps, CFG 6, eta 1 (doco-spec §1); our pipeline has DDIM,
/// so eta defaults to 0 (deterministic DDIM) and the rest to the official values. All of a prompt's images in one UNet
/// batch would be 63 there (1000 over 16 captions; 126 rows with guidance), far more activation memory than a GPU has
/// for Stable Diffusion at 512 px, so they go <paramref name="Batch"/> at a time; the images do not depend on it.
/// </remarks>
public sealed record AnchorSettings(int Count = 1000, int Steps = 25, float GuidanceScale = 6f, float Eta = 0f, ulong Seed = 42, string Negative = "", int Batch = 4);

/// <summary>
/// Anchor images: [Count, C, H, W] final DDIM samples x0 (latents for a latent model, pixels for a pixel model);
/// image i was sampled from <c>Prompts[i]</c> = anchorPrompts[i % P].
/// </summary>
public sealed record AnchorImages(float[] X0, int Count, int Channels, int Height, int Width, IReadOnlyList<string> Prompts, string CachePath, bool FromCache)
{
    public int ImageSize => Channels * Height * Width;
    public ReadOnlySpan<float> Image(int i) => X0.AsSpan(i * ImageSize, ImageSize);
}

/// <summary>
/// Generates DoCo's anchor images with the model itself (doco-spec §1 "Anchor images") and caches them in one
/// safetensors file per key under a folder. The key is a SHA-256 of the model (content hashes of the UNet and text
/// encoder weights and the scheduler config), the prompt list and the sampling settings, so a second call with the same
/// inputs loads the file instead of sampling, and any change (seed, prompts, count, ...) misses. A file that cannot be
/// read back (safetensors error, wrong key, shape or checksum) is reported in one line and regenerated.
/// </summary>
public sealed class AnchorImageCache
{
    /// <summary>Samples x0 for one prompt: Count images from Seed, at most MaxBatch through the UNet at a time, as <see cref="TextToImage.SampleFinal"/>.</summary>
    public delegate float[] Sampler(string prompt, string negative, SampleSettings settings);

    private const string Version = "doco-anchors-v1";
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Mtime), string> FileHashes = new();

    public string Folder { get; }
    /// <summary>Where the one-line notes (cache hit, corrupt file) go; Console.Error by default.</summary>
    public TextWriter Log { get; set; } = Console.Error;

    public AnchorImageCache(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Folder = folder;
    }

    /// <summary>Anchor images for <paramref name="prompts"/> from the pipeline loaded from <paramref name="modelDir"/>.</summary>
    public AnchorImages GetOrCreate(TextToImage pipe, string modelDir, IReadOnlyList<string> prompts, AnchorSettings settings, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        return GetOrCreate(ModelHash(modelDir), pipe.FinalShape, (p, n, s) => pipe.SampleFinal(p, n, s), prompts, settings, progress);
    }

    /// <summary>
    /// The general form: <paramref name="modelHash"/> identifies the weights, <paramref name="shape"/> is one sample's
    /// (C, H, W), <paramref name="sample"/> does the sampling. <paramref name="progress"/> gets (images done, total).
    /// </summary>
    public AnchorImages GetOrCreate(string modelHash, (int C, int H, int W) shape, Sampler sample, IReadOnlyList<string> prompts, AnchorSettings settings, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(settings);
        if (prompts.Count == 0) throw new ArgumentException("no anchor prompts", nameof(prompts));
        if (settings.Count < 1 || settings.Steps < 1 || settings.Batch < 1)
            throw new ArgumentException($"anchor image count ({settings.Count}), steps ({settings.Steps}) and batch ({settings.Batch}) must be ≥ 1", nameof(settings));
        string key = Key(modelHash, prompts, settings);
        string path = PathOf(key);
        int imageSize = shape.C * shape.H * shape.W;
        var perImage = Enumerable.Range(0, settings.Count).Select(i => prompts[i % prompts.Count]).ToArray();

        if (File.Exists(path))
        {
            try
            {
                var x0 = Load(path, key, settings.Count, shape);
                return new AnchorImages(x0, settings.Count, shape.C, shape.H, shape.W, perImage, path, FromCache: true);
            }
            catch (Exception e) when (e is SafetensorsException or InvalidDataException)
            {
                Log.WriteLine($"anchor cache: {path} is unreadable ({OneLine(e.Message)}); regenerating");
            }
        }

        // Images are grouped by prompt so each prompt is one sampling call (run Batch images at a time); prompt p gets
        // seed Seed + p and its images land at indices p, p + P, p + 2P, ... (the official dataset cycles the prompts the same way).
        var all = new float[(long)settings.Count * imageSize];
        int done = 0;
        var perCall = ImagesPerCall(settings.Count, prompts.Count);
        for (int p = 0; p < perCall.Length; p++)
        {
            int n = perCall[p];
            var s = new SampleSettings(settings.Steps, settings.GuidanceScale, settings.Eta, settings.Seed + (ulong)p, n, MaxBatch: settings.Batch);
            var x = sample(prompts[p], settings.Negative, s);
            if (x.Length != (long)n * imageSize)
                throw new InvalidOperationException($"sampler returned {x.Length} values for {n} images of {shape.C}×{shape.H}×{shape.W}");
            for (int j = 0; j < n; j++)
                x.AsSpan(j * imageSize, imageSize).CopyTo(all.AsSpan((p + j * prompts.Count) * imageSize, imageSize));
            done += n;
            progress?.Invoke(done, settings.Count);
        }
        Save(path, key, all, settings.Count, shape, prompts, settings);
        return new AnchorImages(all, settings.Count, shape.C, shape.H, shape.W, perImage, path, FromCache: false);
    }

    /// <summary>
    /// The cache file <see cref="GetOrCreate(TextToImage, string, IReadOnlyList{string}, AnchorSettings, Action{int, int}?)"/>
    /// would load for these inputs, or null when there is none; not read, so a corrupt file still counts. A folder that
    /// does not exist answers null without hashing the model's weights.
    /// </summary>
    public string? Find(string modelDir, IReadOnlyList<string> prompts, AnchorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(settings);
        if (!Directory.Exists(Folder)) return null;
        string path = PathOf(Key(ModelHash(modelDir), prompts, settings));
        return File.Exists(path) ? path : null;
    }

    private string PathOf(string key) => Path.Combine(Folder, $"anchors-{key}.safetensors");

    /// <summary>
    /// Images of each sampling call: one call per prompt (up to <paramref name="count"/> of them), prompt p's images
    /// at indices p, p + P, p + 2P, ..., so the first count mod P prompts get one image more than the others.
    /// </summary>
    public static int[] ImagesPerCall(int count, int prompts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prompts, 1);
        return [.. Enumerable.Range(0, Math.Min(prompts, Math.Max(0, count))).Select(p => (count - p + prompts - 1) / prompts)];
    }

    /// <summary>SHA-256 (hex) of everything that determines the images.</summary>
    public static string Key(string modelHash, IReadOnlyList<string> prompts, AnchorSettings s)
    {
        var sb = new StringBuilder();
        sb.Append(Version).Append('\n').Append(modelHash).Append('\n');
        // Not Batch: the sampler gives the same bits in any chunking (ChunkedSampleTests), so images sampled at one
        // batch serve a run at another (another GPU's memory, say).
        sb.Append(CultureInfo.InvariantCulture, $"count={s.Count} steps={s.Steps} guidance={BitConverter.SingleToInt32Bits(s.GuidanceScale):x8} eta={BitConverter.SingleToInt32Bits(s.Eta):x8} seed={s.Seed}\n");
        // Length-prefixed so that no two different lists (or negatives) give the same text.
        sb.Append(CultureInfo.InvariantCulture, $"negative {s.Negative.Length}:{s.Negative}\n");
        sb.Append(CultureInfo.InvariantCulture, $"prompts {prompts.Count}\n");
        foreach (var p in prompts) sb.Append(CultureInfo.InvariantCulture, $"{p.Length}:{p}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>
    /// SHA-256 over the content hashes of the files that decide the final sample: the UNet and text encoder weights
    /// (*.safetensors) and the scheduler config. The VAE is left out: x0 is taken before decoding. Each file's hash is
    /// memoized per process by (path, length, mtime), so the gigabytes of SD weights are read once.
    /// </summary>
    public static string ModelHash(string modelDir)
    {
        var files = new List<string>();
        foreach (var sub in new[] { "unet", "text_encoder" })
        {
            var dir = Path.Combine(modelDir, sub);
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"model folder has no {sub}/: {modelDir}");
            var weights = Directory.GetFiles(dir, "*.safetensors");
            if (weights.Length == 0) throw new FileNotFoundException($"no .safetensors weights in {dir}");
            files.AddRange(weights.Order(StringComparer.Ordinal));
        }
        var scheduler = Path.Combine(modelDir, "scheduler", "scheduler_config.json");
        if (File.Exists(scheduler)) files.Add(scheduler);
        var sb = new StringBuilder();
        foreach (var f in files) sb.Append(Path.GetRelativePath(modelDir, f).Replace('\\', '/')).Append(' ').Append(FileHash(f)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static string FileHash(string path)
    {
        var info = new FileInfo(path);
        var id = (info.FullName, info.Length, info.LastWriteTimeUtc);
        return FileHashes.GetOrAdd(id, static k =>
        {
            using var f = File.OpenRead(k.Path);
            return Convert.ToHexStringLower(SHA256.HashData(f));
        });
    }

    private static void Save(string path, string key, float[] x0, int count, (int C, int H, int W) shape, IReadOnlyList<string> prompts, AnchorSettings s)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var w = new SafetensorsWriter();
        w.Add("x0", x0, [count, shape.C, shape.H, shape.W]);
        w.Metadata["key"] = key;
        // The data checksum catches damage that leaves the header valid (flipped or zeroed bytes).
        w.Metadata["x0_sha256"] = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(x0.AsSpan())));
        w.Metadata["settings"] = $"count={s.Count} steps={s.Steps} guidance={s.GuidanceScale.ToString(CultureInfo.InvariantCulture)} eta={s.Eta.ToString(CultureInfo.InvariantCulture)} seed={s.Seed}";
        w.Metadata["prompts"] = string.Join("\n", prompts);
        w.Save(path); // temporary file + rename: never half a file under the final name
    }

    private static float[] Load(string path, string key, int count, (int C, int H, int W) shape)
    {
        using var r = SafetensorsReader.Open(path);
        if (!r.Metadata.TryGetValue("key", out var k) || k != key) throw new InvalidDataException("its key does not match its name");
        var info = r.Info("x0");
        long[] want = [count, shape.C, shape.H, shape.W];
        if (info.DType != SafetensorsDType.F32 || !info.Shape.SequenceEqual(want))
            throw new InvalidDataException($"x0 is {info.DType}{info.ShapeString()}, expected F32[{string.Join(", ", want)}]");
        var x0 = r.F32Span("x0").ToArray();
        if (!r.Metadata.TryGetValue("x0_sha256", out var sum) || sum != Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(x0.AsSpan()))))
            throw new InvalidDataException("x0 checksum mismatch");
        return x0;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
