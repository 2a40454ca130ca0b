using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.Unlearning.Data;

namespace Engine.Tests.Unlearning;

/// <summary>Anchor images sampled from the tiny-sd fixture (2 DDIM steps, 2 images) and their on-disk cache.</summary>
public sealed class AnchorImageCacheTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");
    private static readonly string[] Prompts = ["a photo of a cat", "a painting of a cat"];
    private static readonly AnchorSettings Settings = new(Count: 2, Steps: 2, GuidanceScale: 6f, Seed: 5);

    private readonly string _dir = Directory.CreateTempSubdirectory("anchor-cache-").FullName;
    private readonly TextToImage _pipe = new(Fixture, new CpuOps(2));
    private readonly string _modelHash = AnchorImageCache.ModelHash(Fixture);
    private readonly StringWriter _log = new();
    private int _calls;

    public void Dispose()
    {
        _pipe.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private AnchorImageCache Cache() => new(_dir) { Log = _log };

    // The pipeline's own sampler, counted.
    private float[] CountedSample(string prompt, string negative, SampleSettings s)
    {
        _calls++;
        return _pipe.SampleFinal(prompt, negative, s);
    }

    // A stand-in with the same contract, for the cases that test keying and file handling rather than sampling
    // (the real one costs seconds per call here): values depend on prompt, seed, steps, guidance and image index.
    private float[] CountedFake(string prompt, string negative, SampleSettings s)
    {
        _calls++;
        var (c, h, w) = _pipe.FinalShape;
        int size = c * h * w;
        var x = new float[s.Count * size];
        var rng = new Random(HashCode.Combine(prompt.Length, prompt[^1], s.Seed, s.Steps, s.GuidanceScale));
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        return x;
    }

    private AnchorImages Get(IReadOnlyList<string> prompts, AnchorSettings s, bool fake = false)
        => Cache().GetOrCreate(_modelHash, _pipe.FinalShape, fake ? CountedFake : CountedSample, prompts, s);

    [Fact]
    public void FirstCallSamplesTheModelsFinalDdimSample()
    {
        var a = Get(Prompts, Settings);
        Assert.False(a.FromCache);
        Assert.Equal(2, _calls); // one batched call per prompt
        Assert.Equal((4, 32, 32), (a.Channels, a.Height, a.Width));
        Assert.Equal(2 * 4 * 32 * 32, a.X0.Length);
        Assert.Equal(Prompts, a.Prompts);
        // Image i comes from prompt i % P with seed Seed + p: the pipeline's own x0, before VAE decoding.
        for (int p = 0; p < 2; p++)
        {
            var direct = _pipe.SampleFinal(Prompts[p], "", new SampleSettings(2, 6f, 0f, 5UL + (ulong)p, 1));
            Assert.True(a.Image(p).SequenceEqual(direct), $"image {p}");
        }
        Assert.False(a.Image(0).SequenceEqual(a.Image(1)));
        Assert.True(File.Exists(a.CachePath));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp")); // written atomically: no leftovers
    }

    [Fact]
    public void SecondCallLoadsFromDiskWithoutSampling()
    {
        var first = Get(Prompts, Settings);
        int calls = _calls;
        var second = Get(Prompts, Settings);
        Assert.Equal(calls, _calls);
        Assert.True(second.FromCache);
        Assert.Equal(first.CachePath, second.CachePath);
        Assert.Equal(first.X0, second.X0);
        // Also through the TextToImage overload, which hashes the model folder itself.
        Assert.True(Cache().GetOrCreate(_pipe, Fixture, Prompts, Settings).FromCache);
    }

    public static TheoryData<string> Changes => ["seed", "prompts", "order", "count", "steps", "guidance", "model"];

    [Theory]
    [MemberData(nameof(Changes))]
    public void AnyChangeOfTheKeyMisses(string change)
    {
        var first = Get(Prompts, Settings, fake: true);
        int calls = _calls;
        IReadOnlyList<string> prompts = Prompts;
        var s = Settings;
        var hash = _modelHash;
        switch (change)
        {
            case "seed": s = s with { Seed = 6 }; break;
            case "prompts": prompts = ["a photo of a cat", "a sketch of a cat"]; break;
            case "order": prompts = [Prompts[1], Prompts[0]]; break;
            case "count": s = s with { Count = 3 }; break;
            case "steps": s = s with { Steps = 3 }; break;
            case "guidance": s = s with { GuidanceScale = 5f }; break;
            case "model": hash = new string('0', 64); break;
        }
        var again = Cache().GetOrCreate(hash, _pipe.FinalShape, CountedFake, prompts, s);
        Assert.False(again.FromCache);
        Assert.True(_calls > calls);
        Assert.NotEqual(first.CachePath, again.CachePath);
    }

    public static TheoryData<string, bool> Damage => new()
    {
        { "truncated", false }, // the real sampler once; the file handling is the same for the rest
        { "garbage", true },
        { "empty", true },
        { "flipped data byte", true },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void CorruptFileIsReportedInOneLineAndRegenerated(string damage, bool fake)
    {
        var first = Get(Prompts, Settings, fake);
        var bytes = File.ReadAllBytes(first.CachePath);
        switch (damage)
        {
            case "truncated": File.WriteAllBytes(first.CachePath, bytes[..(bytes.Length / 2)]); break;
            case "garbage": File.WriteAllText(first.CachePath, "not a safetensors file at all"); break;
            case "empty": File.WriteAllBytes(first.CachePath, []); break;
            case "flipped data byte": bytes[^5] ^= 0x40; File.WriteAllBytes(first.CachePath, bytes); break;
        }
        int calls = _calls;
        var again = Get(Prompts, Settings, fake);
        Assert.False(again.FromCache);
        Assert.Equal(calls + 2, _calls);
        Assert.Equal(first.X0, again.X0);
        var lines = _log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(first.CachePath, lines[0], StringComparison.Ordinal);
        Assert.Contains("regenerating", lines[0], StringComparison.Ordinal);
        // The regenerated file is good again.
        Assert.True(Get(Prompts, Settings, fake).FromCache);
    }

    [Fact]
    public void TheBatchIsNotPartOfTheKey()
    {
        Assert.Equal(AnchorImageCache.Key(_modelHash, Prompts, Settings), AnchorImageCache.Key(_modelHash, Prompts, Settings with { Batch = 1 }));
        Assert.Equal(AnchorImageCache.Key(_modelHash, Prompts, Settings), AnchorImageCache.Key(_modelHash, Prompts, Settings with { Batch = 64 }));
        var first = Get(Prompts, Settings, fake: true);
        int calls = _calls;
        var again = Get(Prompts, Settings with { Batch = 1 }, fake: true);
        Assert.True(again.FromCache);
        Assert.Equal(calls, _calls);
        Assert.Equal(first.CachePath, again.CachePath);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void TheSamplerRunsAtMostBatchImagesThroughTheUnetAtATime(int batch)
    {
        // 11 images over 2 prompts: calls of 6 and 5 images, each run in UNet batches of at most `batch` images.
        var asked = new List<SampleSettings>();
        float[] Recording(string prompt, string negative, SampleSettings s)
        {
            asked.Add(s);
            return CountedFake(prompt, negative, s);
        }
        var a = Cache().GetOrCreate(_modelHash, _pipe.FinalShape, Recording, Prompts, Settings with { Count = 11, Batch = batch });
        Assert.Equal(11, a.Count);
        Assert.Equal([6, 5], asked.Select(s => s.Count));
        Assert.All(asked, s => Assert.Equal(batch, s.MaxBatch)); // never 0, which would run the whole call as one batch
    }

    [Fact]
    public void ModelHashIsStableAndCoversTheSchedulerConfig()
    {
        Assert.Equal(_modelHash, AnchorImageCache.ModelHash(Fixture));
        Assert.Matches("^[0-9a-f]{64}$", _modelHash);
        // A copy of the model with a different scheduler config hashes differently.
        var copy = Path.Combine(_dir, "model");
        foreach (var sub in new[] { "unet", "text_encoder", "scheduler" })
        {
            Directory.CreateDirectory(Path.Combine(copy, sub));
            foreach (var f in Directory.GetFiles(Path.Combine(Fixture, sub))) File.Copy(f, Path.Combine(copy, sub, Path.GetFileName(f)));
        }
        Assert.Equal(_modelHash, AnchorImageCache.ModelHash(copy));
        File.AppendAllText(Path.Combine(copy, "scheduler", "scheduler_config.json"), "\n");
        Assert.NotEqual(_modelHash, AnchorImageCache.ModelHash(copy));
    }

    [Fact]
    public void BadSettingsThrow()
    {
        Assert.Throws<ArgumentException>(() => Get([], Settings));
        Assert.Throws<ArgumentException>(() => Get(Prompts, Settings with { Count = 0 }));
        Assert.Throws<ArgumentException>(() => Get(Prompts, Settings with { Steps = 0 }));
        Assert.Throws<ArgumentException>(() => Get(Prompts, Settings with { Batch = 0 }));
        Assert.Equal(0, _calls);
    }
}
