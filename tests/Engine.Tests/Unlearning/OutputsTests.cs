using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Models.Unet;
using Engine.Nn;
using Engine.Tests.Loading;
using Engine.Unlearning.Data;
using Engine.Unlearning.Outputs;

namespace Engine.Tests.Unlearning;

/// <summary>
/// The erased-model outputs on the tiny-sd fixture with two perturbed to_k tensors: the diffusers folder, the single
/// file and the delta load back bit for bit, unchanged files are links or equal copies, the manifest has its fields,
/// and a failure at any stage leaves nothing behind (or the previous result untouched).
/// </summary>
public sealed class OutputsTests : IDisposable
{
    private static readonly string Fixture = NameMapTests.Fixture;
    private static readonly string[] Changed =
    [
        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("outputs-tests-").FullName;
    private readonly NativeArena _arena = new();

    public void Dispose()
    {
        _arena.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private UNet2DConditionModel LoadBase() => ModelFiles.LoadUNet(Path.Combine(Fixture, "unet"), _arena);

    /// <summary>The base UNet with the two to_k tensors moved by a small, element-dependent amount.</summary>
    private UNet2DConditionModel Trained()
    {
        var unet = LoadBase();
        foreach (var name in Changed)
        {
            var w = unet.Parameters.Weight(name).AsSpan();
            for (int i = 0; i < w.Length; i++) w[i] += 0.01f * (i % 7 - 3);
        }
        return unet;
    }

    private static ErasureRun Run => new()
    {
        Concept = "Van Gogh",
        Anchor = "painting",
        ConceptType = "style",
        Hyperparameters = new JsonObject { ["lr"] = 1e-5, ["steps"] = 3, ["surgery"] = true },
        Seed = 42,
        Steps = 3,
        SkippedSteps = 1,
        WallSeconds = 1.5,
        Metrics = new JsonObject { ["clip_score"] = 0.25 },
    };

    private static void AssertSameBits(ParameterStore expected, ParameterStore actual, IEnumerable<string>? names = null)
    {
        foreach (var name in names ?? expected.Layout.Parameters.Select(p => p.Name))
            Assert.True(MemoryMarshal.AsBytes(expected.Weight(name).AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(actual.Weight(name).AsSpan())), $"{name} differs");
    }

    [Fact]
    public void Outputs_LoadBack_BitForBit()
    {
        var trained = Trained();
        string outDir = Path.Combine(_dir, "out");
        var result = ErasedModelWriter.Write(outDir, Fixture, trained, Changed, Run, new ErasedModelOptions { SingleFile = true });

        var fromFolder = ModelFiles.LoadUNet(Path.Combine(result.ModelFolder, "unet"), _arena);
        AssertSameBits(trained.Parameters, fromFolder.Parameters);
        var single = SingleFile.Load(result.SingleFilePath!, _arena);
        AssertSameBits(trained.Parameters, single.UNet.Parameters);
        AssertSameBits(ModelFiles.LoadTextEncoder(Path.Combine(Fixture, "text_encoder"), _arena).Parameters, single.TextEncoder.Parameters);

        using (var delta = SafetensorsReader.Open(result.DeltaPath))
            Assert.Equal(Changed.Order(StringComparer.Ordinal), delta.Tensors.Select(t => t.Name));
        var fresh = LoadBase();
        Assert.Equal(Changed.Order(StringComparer.Ordinal), DeltaFile.Apply(result.DeltaPath, fresh));
        AssertSameBits(trained.Parameters, fresh.Parameters);

        // Every base file but the UNet weights is in model/ with the same bytes, as a hard link or a copy.
        foreach (var f in Directory.GetFiles(Fixture, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Fixture, f).Replace('\\', '/');
            if (rel == "unet/diffusion_pytorch_model.safetensors") continue;
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(result.ModelFolder, rel)));
            Assert.Contains(result.Manifest["files"]![$"model/{rel}"]!["source"]!.GetValue<string>(), new[] { "linked", "copied" });
        }
        Assert.Equal("written", result.Manifest["files"]!["model/unet/diffusion_pytorch_model.safetensors"]!["source"]!.GetValue<string>());
        Assert.Equal(["delta.safetensors", "manifest.json", "model", "model.safetensors"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["out"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName)); // no staging folder left
    }

    [Fact]
    public void Manifest_ParsesAndHasTheFields()
    {
        var result = ErasedModelWriter.Write(Path.Combine(_dir, "out"), Fixture, Trained(), Changed, Run);
        using var doc = JsonDocument.Parse(File.ReadAllText(result.ManifestPath));
        var m = doc.RootElement;
        Assert.Equal(ErasedModelWriter.ManifestFormat, m.GetProperty("format").GetString());
        Assert.Equal("doco", m.GetProperty("method").GetString());
        Assert.Equal("Van Gogh", m.GetProperty("concept").GetString());
        Assert.Equal("painting", m.GetProperty("anchor").GetString());
        Assert.Equal("style", m.GetProperty("type").GetString());
        Assert.Equal(1e-5, m.GetProperty("hyperparameters").GetProperty("lr").GetDouble());
        Assert.True(m.GetProperty("hyperparameters").GetProperty("surgery").GetBoolean());
        Assert.Equal(42, m.GetProperty("seed").GetInt64());
        Assert.Equal(AnchorImageCache.ModelHash(Fixture), m.GetProperty("base_model").GetProperty("hash").GetString());
        Assert.Equal(3, m.GetProperty("steps").GetInt32());
        Assert.Equal(1, m.GetProperty("skipped_steps").GetInt32());
        Assert.Equal(1.5, m.GetProperty("wall_seconds").GetDouble());
        Assert.True(m.GetProperty("peak_memory_bytes").GetInt64() > 0);
        Assert.Equal(0.25, m.GetProperty("metrics").GetProperty("clip_score").GetDouble());
        Assert.Equal(Changed.Order(StringComparer.Ordinal), m.GetProperty("changed_tensors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(new FileInfo(result.DeltaPath).Length, m.GetProperty("files").GetProperty("delta.safetensors").GetProperty("bytes").GetInt64());
        Assert.False(m.GetProperty("files").TryGetProperty("model.safetensors", out _));
        Assert.False(string.IsNullOrEmpty(m.GetProperty("engine").GetProperty("version").GetString()));
        using var delta = SafetensorsReader.Open(result.DeltaPath);
        Assert.Equal(AnchorImageCache.ModelHash(Fixture), delta.Metadata[DeltaFile.BaseModelHashKey]);
    }

    [Fact]
    public void OutputPathIsAFile_Throws_AndLeavesNothing()
    {
        string path = Path.Combine(_dir, "out");
        File.WriteAllText(path, "not a folder");
        Assert.Throws<IOException>(() => ErasedModelWriter.Write(path, Fixture, Trained(), Changed, Run));
        Assert.Equal("not a folder", File.ReadAllText(path));
        Assert.Equal(["out"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("delta")]
    [InlineData("single-file")]
    [InlineData("manifest")]
    [InlineData("commit")]
    public void FailureAtAnyStage_LeavesNothing_OrThePreviousResult(string stage)
    {
        var trained = Trained();
        var failing = new ErasedModelOptions { SingleFile = true, BeforeStage = s => { if (s == stage) throw new IOException($"disk full at {s}"); } };
        string fresh = Path.Combine(_dir, "fresh");
        Assert.Throws<IOException>(() => ErasedModelWriter.Write(fresh, Fixture, trained, Changed, Run, failing));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));

        // A run folder with a log and an earlier result: both survive a failed rewrite unchanged.
        string run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "train.csv"), "step\n");
        ErasedModelWriter.Write(run, Fixture, LoadBase(), Changed, Run with { Concept = "before" });
        string manifest = File.ReadAllText(Path.Combine(run, ErasedModelWriter.ManifestName));
        Assert.Throws<IOException>(() => ErasedModelWriter.Write(run, Fixture, trained, Changed, Run, failing));
        Assert.Equal(manifest, File.ReadAllText(Path.Combine(run, ErasedModelWriter.ManifestName)));
        Assert.Equal(["delta.safetensors", "manifest.json", "model", "train.csv"], Directory.GetFileSystemEntries(run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["run"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void RewriteIntoARunFolder_KeepsItsOtherFiles_AndDropsStaleEntries()
    {
        string run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "train.csv"), "step\n");
        ErasedModelWriter.Write(run, Fixture, LoadBase(), Changed, Run, new ErasedModelOptions { SingleFile = true });
        var trained = Trained();
        var result = ErasedModelWriter.Write(run, Fixture, trained, Changed, Run);
        Assert.Equal(["delta.safetensors", "manifest.json", "model", "train.csv"], Directory.GetFileSystemEntries(run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        AssertSameBits(trained.Parameters, ModelFiles.LoadUNet(Path.Combine(result.ModelFolder, "unet"), _arena).Parameters);
        Assert.Equal(["run"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ChangedTensorsMustBeUNetParameters()
    {
        var e = Assert.Throws<ArgumentException>(() => ErasedModelWriter.Write(Path.Combine(_dir, "out"), Fixture, LoadBase(), [Changed[0], "no.such.weight"], Run));
        Assert.Contains("no.such.weight", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Apply_ReportsUnknownNamesAndShapes_AndChangesNothing()
    {
        var unet = LoadBase();
        var good = unet.Parameters.Layout[Changed[0]];
        var w = new SafetensorsWriter();
        w.Add(Changed[0], new float[good.Numel], good.Shape.ToArray().Select(d => (long)d).ToArray());
        w.Add("down_blocks.9.attn2.to_k.weight", new float[4], [2, 2]);
        w.Add(Changed[1], new float[6], [2, 3]);
        string path = Path.Combine(_dir, "bad-delta.safetensors");
        w.Save(path);

        var e = Assert.Throws<InvalidDataException>(() => DeltaFile.Apply(path, unet));
        Assert.Contains("unknown tensor down_blocks.9.attn2.to_k.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains($"shape mismatch {Changed[1]}: delta has [2, 3]", e.Message, StringComparison.Ordinal);
        AssertSameBits(LoadBase().Parameters, unet.Parameters); // the valid tensor was not applied either
    }

    [Fact]
    public void HardLink_SharesTheFile()
    {
        string a = Path.Combine(_dir, "a.bin"), b = Path.Combine(_dir, "b.bin");
        File.WriteAllBytes(a, [1, 2, 3]);
        Assert.True(HardLink.TryCreate(a, b));
        using (var f = new FileStream(a, FileMode.Open, FileAccess.Write)) f.WriteByte(9); // in place: a link sees it, a copy would not
        Assert.Equal([9, 2, 3], File.ReadAllBytes(b));
        Assert.False(HardLink.TryCreate(a, b)); // the target exists
    }
}
