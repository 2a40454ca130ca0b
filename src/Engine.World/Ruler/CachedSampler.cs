using System.Security.Cryptography;
using System.Text;
using Engine.IO;

namespace Engine.World.Ruler;

/// <summary>
/// A sampler whose images are kept on disk, keyed by what determines them: the model's weight files (their bytes),
/// the sampling settings, and every (prompt, seed) pair. The base model's ruler samples are the same for every erasure
/// of it, so `erase` and `compare` sample them once per cache folder instead of once per run. A file that does not
/// hold the expected number of floats is sampled again.
/// </summary>
public sealed class CachedSampler(IWorldSampler inner, string cacheDir, string modelDir, RulerSampling settings) : IWorldSampler
{
    /// <summary>Where the last call found or put its images, and whether they came from the cache.</summary>
    public string? LastPath { get; private set; }
    public bool LastFromCache { get; private set; }

    public float[] Sample(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(seeds);
        string path = Path.Combine(cacheDir, $"ruler-{Key(prompts, seeds)}.f32");
        LastPath = path;
        long expected = (long)prompts.Count * 3 * WorldModel.ImageSize * WorldModel.ImageSize;
        if (File.Exists(path) && new FileInfo(path).Length == expected * sizeof(float))
        {
            var cached = new float[expected];
            using (var f = File.OpenRead(path)) f.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(cached.AsSpan()));
            LastFromCache = true;
            progress?.Invoke(prompts.Count, prompts.Count);
            return cached;
        }
        var images = inner.Sample(prompts, seeds, progress);
        Directory.CreateDirectory(cacheDir);
        AtomicFile.WriteAllBytes(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(images.AsSpan()));
        LastFromCache = false;
        return images;
    }

    private string Key(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in new[] { "unet", "text_encoder", "tokenizer", "scheduler" })
        {
            string dir = Path.Combine(modelDir, part);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                sha.AppendData(Encoding.UTF8.GetBytes(part + "/" + Path.GetFileName(file) + "\n"));
                using var f = File.OpenRead(file);
                var buffer = new byte[1 << 16];
                int n;
                while ((n = f.Read(buffer)) > 0) sha.AppendData(buffer.AsSpan(0, n));
            }
        }
        sha.AppendData(Encoding.UTF8.GetBytes($"{settings.Steps}|{settings.GuidanceScale:R}|{prompts.Count}\n"));
        for (int i = 0; i < prompts.Count; i++) sha.AppendData(Encoding.UTF8.GetBytes($"{prompts[i]}\u0001{seeds[i]}\n"));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..24];
    }
}
