using Engine.Cli.Commands;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Tests.Cli;
using Engine.Unlearning.Outputs;

namespace Engine.Tests.Unlearning;

/// <summary>One short doco erase of tiny-sd, shared by the LoRA tests (its output is only read).</summary>
public sealed class ErasedTinySd : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory();

    public ErasedTinySd()
    {
        Out = Path.Combine(_dir.FullName, "out");
        var err = new StringWriter();
        var o = new EraseCommand.Options
        {
            Model = TinyTrainer.Fixture,
            Concept = "star",
            Anchor = "circle",
            Method = "doco",
            Steps = 2,
            Warmup = 1,
            Batch = 1,
            Anchors = 2,
            AnchorSteps = 1,
            Lr = 1e-3f,
            Lora = 2, // erase --lora: the same export as doco lora, into Out/lora
            Out = Out,
            Backend = "cpu",
        };
        int rc = EraseCommand.Run(o, TextWriter.Null, err);
        if (rc != 0) throw new InvalidOperationException($"erase failed: {err}");
    }

    public string Out { get; }

    public string Delta => Path.Combine(Out, ErasedModelWriter.DeltaName);

    public static string BaseWeights => ModelFiles.WeightFile(Path.Combine(TinyTrainer.Fixture, "unet"));

    public string ErasedWeights => ModelFiles.WeightFile(Path.Combine(Out, "model", "unet"));

    /// <summary>A fresh scratch folder inside the fixture's temp folder.</summary>
    public string Scratch() => Directory.CreateDirectory(Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => _dir.Delete(true);
}

/// <summary>LoRA export of an erasure (<see cref="LoraExport"/>, <c>doco lora</c>) and loading (<see cref="LoraFile"/>).</summary>
public sealed class LoraTests(ErasedTinySd run) : IClassFixture<ErasedTinySd>
{
    private static Dictionary<string, (float[] Values, int[] Shape)> Load(string path)
    {
        using var f = SafetensorsReader.Open(path);
        return f.Tensors.ToDictionary(t => t.Name, t =>
        {
            var v = new float[t.Numel];
            f.ReadF32(t.Name, v);
            return (v, t.Shape.Select(d => (int)d).ToArray());
        });
    }

    private static string[] DeltaNames(string delta)
    {
        using var f = SafetensorsReader.Open(delta);
        return [.. f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal)];
    }

    /// <summary>The base weights with the LoRA at <paramref name="path"/> added, for the delta's tensors.</summary>
    private static Dictionary<string, float[]> Applied(string path, string[] names, float scale = 1)
    {
        var weights = Load(ErasedTinySd.BaseWeights);
        var patches = LoraFile.Read(path, weights.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));
        Assert.Equal(names, patches.Select(p => p.Weight).Order(StringComparer.Ordinal));
        foreach (var p in patches) p.AddTo(weights[p.Weight].Values, scale);
        return names.ToDictionary(n => n, n => weights[n].Values);
    }

    private LoraExportResult Export(int rank) => LoraExport.Write(ErasedTinySd.BaseWeights, run.Delta, rank, Path.Combine(run.Scratch(), "lora"));

    [Fact]
    public void FullRank_ReproducesTheErasedWeights()
    {
        // tiny-sd's to_k/to_v are [64, 32]: rank 32 is full, so up·down = Δ exactly in exact arithmetic. What is left is
        // float rounding — of the stored factors (~2⁻²⁴ relative each, summed over 32 terms) and of base + Δ — well
        // under 1e-6 of the weights' scale.
        var names = DeltaNames(run.Delta);
        var result = Export(32);
        Assert.All(result.Tensors, t => Assert.Equal(32, t.Rank));
        Assert.All(result.Tensors, t => Assert.True(t.RelativeError < 1e-6, $"{t.Tensor}: {t.RelativeError}"));
        var erased = Load(run.ErasedWeights);
        foreach (var (file, applied) in new[] { result.KohyaPath, result.DiffusersPath }.Select(f => (f, Applied(f, names))))
            foreach (var n in names)
            {
                var want = erased[n].Values;
                float scale = want.Max(Math.Abs);
                for (int i = 0; i < want.Length; i++)
                    Assert.True(Math.Abs(applied[n][i] - want[i]) <= 1e-6f * scale, $"{Path.GetFileName(file)} {n}[{i}]: {applied[n][i]} vs {want[i]}");
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void RankR_ErrorIsTheDiscardedSingularValues(int rank)
    {
        var result = Export(rank);
        var base0 = Load(ErasedTinySd.BaseWeights);
        var erased = Load(run.ErasedWeights);
        double total2 = 0, err2 = 0;
        foreach (var t in result.Tensors)
        {
            var (w0, shape) = base0[t.Tensor];
            var delta = new double[w0.Length];
            for (int i = 0; i < delta.Length; i++) delta[i] = (double)erased[t.Tensor].Values[i] - w0[i];
            var s = Svd.Compute(delta, shape[0], shape[1]).S;
            double all = s.Sum(x => x * x), tail = s.Skip(rank).Sum(x => x * x);
            Assert.True(all > 0, $"{t.Tensor}: training must change it");
            double expected = Math.Sqrt(tail / all);
            Assert.True(Math.Abs(t.RelativeError - expected) < 1e-5, $"{t.Tensor}: {t.RelativeError} vs √(Σ_(i>{rank}) σ²)/‖Δ‖ = {expected}");
            total2 += all;
            err2 += tail;
        }
        Assert.True(Math.Abs(result.OverallError - Math.Sqrt(err2 / total2)) < 1e-5);
    }

    [Fact]
    public void BothFormats_ApplyTheSameWeights()
    {
        var names = DeltaNames(run.Delta);
        var result = Export(3);
        var kohya = Applied(result.KohyaPath, names, 0.7f);
        var diffusers = Applied(result.DiffusersPath, names, 0.7f);
        foreach (var n in names) Assert.Equal(kohya[n], diffusers[n]);
    }

    [Fact]
    public void KeyNames_AreExactlyTheFormats()
    {
        var names = DeltaNames(run.Delta);
        Assert.Contains("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight", names);
        var result = Export(4);
        var kohya = Load(result.KohyaPath);
        var expectedKohya = names.SelectMany(n =>
        {
            string k = "lora_unet_" + n[..^".weight".Length].Replace('.', '_');
            return new[] { k + ".lora_down.weight", k + ".lora_up.weight", k + ".alpha" };
        });
        Assert.Equal(expectedKohya.Order(StringComparer.Ordinal), kohya.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([4, 32], kohya["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"].Shape);
        Assert.Equal([64, 4], kohya["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight"].Shape);
        Assert.Equal([4f], kohya["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.alpha"].Values);

        var diffusers = Load(result.DiffusersPath);
        var expectedDiffusers = names.SelectMany(n =>
        {
            string k = "unet." + n[..^".weight".Length];
            return new[] { k + ".lora_A.weight", k + ".lora_B.weight" };
        });
        Assert.Equal(expectedDiffusers.Order(StringComparer.Ordinal), diffusers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([4, 32], diffusers["unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight"].Shape);
        Assert.Equal([64, 4], diffusers["unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight"].Shape);
        using var f = SafetensorsReader.Open(result.KohyaPath);
        Assert.Equal("4", f.Metadata[LoraExport.RankKey]);
    }

    [Fact]
    public void Apply_OnAUNet_MatchesTheErasedUNet()
    {
        var result = Export(32);
        using var arena = new NativeArena();
        var unet = ModelFiles.LoadUNet(Path.Combine(TinyTrainer.Fixture, "unet"), arena);
        var erased = ModelFiles.LoadUNet(Path.Combine(run.Out, "model", "unet"), arena);
        var changed = LoraFile.Apply(unet, result.KohyaPath, 1f);
        Assert.Equal(DeltaNames(run.Delta), changed.Order(StringComparer.Ordinal));
        var got = unet.Parameters.Weights.AsSpan();
        var want = erased.Parameters.Weights.AsSpan();
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) <= 1e-5f, $"weight {i}: {got[i]} vs {want[i]}");
    }

    public static TheoryData<string, string> Hostile() => new()
    {
        { "missing-up", "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k" },
        { "shape", "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k" },
        { "unknown", "lora_unet_down_blocks_9_attn2_to_k" },
        { "3d", "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight" },
        { "stray", "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_a" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileFiles_AreRejectedNamingTheKey_NothingApplied(string kind, string key)
    {
        const string k = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k";
        const string d = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k";
        var w = new SafetensorsWriter();
        // A good module beside the bad one: it must not be applied either.
        const string good = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_v";
        if (kind != "3d")
        {
            w.Add(good + ".lora_down.weight", new float[2 * 32], [2, 32]);
            w.Add(good + ".lora_up.weight", Enumerable.Repeat(1f, 64 * 2).ToArray(), [64, 2]);
        }
        switch (kind)
        {
            case "missing-up":
                w.Add(k + ".lora_down.weight", new float[2 * 32], [2, 32]);
                break;
            case "shape":
                w.Add(k + ".lora_down.weight", new float[2 * 31], [2, 31]);
                w.Add(k + ".lora_up.weight", new float[64 * 2], [64, 2]);
                break;
            case "unknown":
                w.Add(key + ".lora_down.weight", new float[2 * 32], [2, 32]);
                w.Add(key + ".lora_up.weight", new float[64 * 2], [64, 2]);
                break;
            case "3d":
                w.Add(d + ".lora_A.weight", new float[2 * 32], [2, 32, 1]);
                w.Add(d + ".lora_B.weight", new float[64 * 2], [64, 2]);
                break;
            case "stray":
                w.Add(key, new float[4], [2, 2]);
                break;
        }
        string path = Path.Combine(run.Scratch(), "bad.safetensors");
        w.Save(path);

        using var arena = new NativeArena();
        var unet = ModelFiles.LoadUNet(Path.Combine(TinyTrainer.Fixture, "unet"), arena);
        var before = unet.Parameters.Weights.AsSpan().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => LoraFile.Apply(unet, path, 1f));
        Assert.Contains(key, e.Message);
        Assert.True(unet.Parameters.Weights.AsSpan().SequenceEqual(before), "a rejected file must change nothing");
    }

    [Fact]
    public void EraseWithLora_WritesTheLoraFolder()
    {
        string lora = Path.Combine(run.Out, "lora");
        Assert.Equal(["kohya.safetensors", "lora.json", "pytorch_lora_weights.safetensors"],
            Directory.GetFiles(lora).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var f = SafetensorsReader.Open(Path.Combine(lora, "kohya.safetensors"));
        Assert.Equal("2", f.Metadata[LoraExport.RankKey]);
    }

    [Fact]
    public void Cli_WritesBothFilesAndJson()
    {
        string outDir = run.Scratch();
        var (exit, stdout, stderr) = Doco.Run("lora", run.Out, "--rank", "2", "--out", outDir);
        Assert.True(exit == 0, stderr);
        Assert.Contains("overall relative error", stdout);
        string lora = Path.Combine(outDir, "lora");
        Assert.Equal(["kohya.safetensors", "lora.json", "pytorch_lora_weights.safetensors"],
            Directory.GetFiles(lora).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(lora, "lora.json")))!;
        Assert.Equal(2, json["rank"]!.GetValue<int>());
        Assert.Equal(DeltaNames(run.Delta).Length, json["tensors"]!.AsArray().Count);
        Assert.Empty(Directory.GetDirectories(outDir, ".*")); // no staging folder left behind
    }

    [Fact]
    public void Sample_WithLora_ReachesTheUNet_ScaleZeroChangesNothing()
    {
        string dir = run.Scratch();
        string lora = Export(4).KohyaPath;
        byte[] Png(string name, params string[] extra)
        {
            string path = Path.Combine(dir, name);
            var (exit, _, err) = Doco.Run(["sample", "--model", TinyTrainer.Fixture, "--prompt", "a star", "--steps", "2", "--n", "1",
                "--backend", "cpu", "--out", path, .. extra]);
            Assert.True(exit == 0, err);
            return File.ReadAllBytes(path);
        }
        var plain = Png("plain.png");
        Assert.Equal(plain, Png("zero.png", "--lora", lora, "--lora-scale", "0"));
        // A short erase moves the weights little; scaled up, the LoRA must show in the 8-bit image.
        Assert.NotEqual(plain, Png("strong.png", "--lora", lora, "--lora-scale", "200"));
    }

    [Fact]
    public void Sample_WithBadLora_Exit2_NamesIt()
    {
        string dir = run.Scratch();
        var w = new SafetensorsWriter();
        w.Add("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", new float[64], [2, 32]);
        string bad = Path.Combine(dir, "bad.safetensors");
        w.Save(bad);
        foreach (var (file, expect) in new[] { (bad, "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"), (Path.Combine(dir, "none.safetensors"), "no such file") })
        {
            var (exit, _, err) = Doco.Run("sample", "--model", TinyTrainer.Fixture, "--prompt", "a star", "--steps", "1", "--n", "1",
                "--backend", "cpu", "--out", Path.Combine(dir, "x.png"), "--lora", file);
            Assert.Equal(2, exit);
            Assert.Contains(expect, err);
            Assert.Single(err.TrimEnd().Split('\n'));
        }
        Assert.False(File.Exists(Path.Combine(dir, "x.png")));
    }

    [Fact]
    public void Cli_BadInput_OneLineExit2NothingWritten()
    {
        string empty = run.Scratch();
        string missing = Path.Combine(empty, "missing");
        foreach (var (args, expect) in new (string[], string)[]
        {
            (["lora", missing], "no such folder"),
            (["lora", run.Out, "--rank", "0", "--out", empty], "--rank"),
            (["lora", empty], "not a doco erase output"),
        })
        {
            var (exit, _, stderr) = Doco.Run(args);
            Assert.Equal(2, exit);
            Assert.Contains(expect, stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }
        Assert.Empty(Directory.GetFileSystemEntries(empty));
    }
}
