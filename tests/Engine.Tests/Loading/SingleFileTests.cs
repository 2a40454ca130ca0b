using System.Runtime.InteropServices;
using Engine.Cpu;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Loading;
using Engine.Models.Unet;
using Engine.Nn;
using Xunit.Abstractions;

namespace Engine.Tests.Loading;

/// <summary>
/// Single-file checkpoints built from the tiny-sd fixture by renaming its tensors to LDM keys: load, detect configs,
/// report broken files, save as a diffusers folder and as a single file, and run the UNet.
/// </summary>
public sealed class SingleFileTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Fixture = NameMapTests.Fixture;
    private readonly string _dir = Directory.CreateTempSubdirectory("single-file-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Writes the fixture's unet, text_encoder and vae as one LDM-named file, with the skip-list extras a real SD file
    /// carries (EMA, schedule buffers, position_ids). edit may remove, add or replace tensors before the save.
    /// </summary>
    private string BuildSingleFile(bool withConfigs = true, Action<Dictionary<string, (SafetensorsDType DType, long[] Shape, byte[] Bytes)>>? edit = null)
    {
        var unetConfig = UNetConfig.FromJson(Path.Combine(Fixture, "unet", "config.json"));
        var tensors = new Dictionary<string, (SafetensorsDType, long[], byte[])>(StringComparer.Ordinal);
        void AddComponent(string component, Func<string, string?> toLdm, Func<string, bool> squeeze)
        {
            using var file = SafetensorsReader.Open(ModelFiles.WeightFile(Path.Combine(Fixture, component)));
            foreach (var t in file.Tensors)
            {
                var shape = t.Shape.ToList();
                if (squeeze(t.Name)) shape.AddRange([1, 1]);
                tensors.Add(toLdm(t.Name) ?? throw new InvalidOperationException(t.Name), (t.DType, shape.ToArray(), file.RawBytes(t.Name).ToArray()));
            }
        }
        var unetMap = NameMap.ForUNet(unetConfig);
        var teMap = NameMap.ForTextEncoder();
        var vaeMap = NameMap.ForVae(2, 1);
        AddComponent("unet", unetMap.ToLdm, _ => false);
        AddComponent("text_encoder", n => n.EndsWith("position_ids", StringComparison.Ordinal) ? null : teMap.ToLdm(n), _ => false);
        AddComponent("vae", vaeMap.ToLdm, vaeMap.IsConvLinearWeight);
        tensors["model_ema.decay"] = (SafetensorsDType.F32, [], BitConverter.GetBytes(0.9999f));
        tensors["model_ema.diffusion_modelinput_blocks00weight"] = tensors[NameMap.UNetPrefix + "input_blocks.0.0.weight"];
        tensors["betas"] = (SafetensorsDType.F32, [3], new byte[12]);
        tensors["alphas_cumprod"] = (SafetensorsDType.F32, [3], new byte[12]);
        tensors[NameMap.TextEncoderPrefix + "text_model.embeddings.position_ids"] = (SafetensorsDType.I64, [1, 77], new byte[77 * 8]);
        edit?.Invoke(tensors);

        var w = new SafetensorsWriter();
        foreach (var (name, (dtype, shape, bytes)) in tensors) w.AddRaw(name, dtype, shape, bytes);
        if (withConfigs)
        {
            w.Metadata[SingleFile.UNetConfigKey] = File.ReadAllText(Path.Combine(Fixture, "unet", "config.json"));
            w.Metadata[SingleFile.TextEncoderConfigKey] = File.ReadAllText(Path.Combine(Fixture, "text_encoder", "config.json"));
        }
        string path = Path.Combine(_dir, $"tiny-{Guid.NewGuid():N}.safetensors");
        w.Save(path);
        return path;
    }

    private static void AssertSameWeights(ParameterStore expected, ParameterStore actual)
    {
        Assert.Equal(expected.Layout.Parameters.Select(p => (p.Name, p.Shape.ToString())), actual.Layout.Parameters.Select(p => (p.Name, p.Shape.ToString())));
        foreach (var p in expected.Layout.Parameters)
            Assert.True(MemoryMarshal.AsBytes(expected.Weight(p.Name).AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(actual.Weight(p.Name).AsSpan())), $"{p.Name} differs");
    }

    internal static void AssertSameConfig(UNetConfig e, UNetConfig a)
    {
        Assert.Equal(e.BlockOutChannels, a.BlockOutChannels);
        Assert.Equal(e.NumAttentionHeads, a.NumAttentionHeads);
        Assert.Equal(e.DownBlockTypes, a.DownBlockTypes);
        Assert.Equal(e.UpBlockTypes, a.UpBlockTypes);
        Assert.Equal(e with { BlockOutChannels = a.BlockOutChannels, NumAttentionHeads = a.NumAttentionHeads, DownBlockTypes = a.DownBlockTypes, UpBlockTypes = a.UpBlockTypes }, a);
    }

    private static (UNet2DConditionModel UNet, ClipTextModel TextEncoder) LoadFolder(string folder, NativeArena arena) =>
        (ModelFiles.LoadUNet(Path.Combine(folder, "unet"), arena), ModelFiles.LoadTextEncoder(Path.Combine(folder, "text_encoder"), arena));

    [Fact]
    public void Load_WeightsAndConfigsEqualTheFolder()
    {
        using var arena = new NativeArena();
        var lines = new List<string>();
        var loaded = SingleFile.Load(BuildSingleFile(), arena, log: lines.Add);
        output.WriteLine(lines.Single());
        Assert.Contains("block_out_channels [32, 64]", lines[0]);

        var (unet, te) = LoadFolder(Fixture, arena);
        AssertSameConfig(unet.Config, loaded.UNet.Config);
        Assert.Equal(te.Config, loaded.TextEncoder.Config);
        AssertSameWeights(unet.Parameters, loaded.UNet.Parameters);
        AssertSameWeights(te.Parameters, loaded.TextEncoder.Parameters);

        // The VAE keys are exposed, mapped, for a later VAE loader.
        Assert.Equal(new VaeLayout(2, 1, NameMap.VaePrefix), loaded.Configs.Vae);
        Assert.Equal(124, loaded.VaeKeys.Count);
        Assert.Equal("decoder.mid_block.attentions.0.to_q.weight", loaded.VaeKeys["first_stage_model.decoder.mid.attn_1.q.weight"]);
    }

    [Fact]
    public void DetectFromWeights_ShapesAlone()
    {
        // Without our metadata only shape-borne values are known; the rest take SD 1.x's values.
        using var file = SafetensorsReader.Open(BuildSingleFile(withConfigs: false));
        var detected = SingleFile.DetectFromWeights(file.Header, file.FilePath);
        var folder = UNetConfig.FromJson(Path.Combine(Fixture, "unet", "config.json"));
        AssertSameConfig(folder with { NormNumGroups = 32, SampleSize = 64 }, detected.UNet);
        var te = ClipTextConfig.FromJson(Path.Combine(Fixture, "text_encoder", "config.json"));
        Assert.Equal(te with { NumAttentionHeads = 1 }, detected.TextEncoder); // hidden 32 / 64 → at least one head
    }

    [Fact]
    public void DetectFromWeights_SD15Shapes()
    {
        // SD1.5's names and shapes (writing 1 B parameters is not a unit test; detection reads only the header).
        var sd = new UNetConfig();
        var unetMap = NameMap.ForUNet(sd);
        var vaeMap = NameMap.ForVae(4, 2);
        var shapes = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        foreach (var (name, shape) in UNet2DConditionModel.Declare(sd)) shapes.Add(unetMap.ToLdm(name)!, Dims(shape));
        foreach (var (name, shape) in ClipTextModel.Declare(new ClipTextConfig())) shapes.Add(NameMap.TextEncoderPrefix + name, Dims(shape));
        foreach (var name in NameMapTests.VaeNames([128, 256, 512, 512], 2)) shapes.Add(vaeMap.ToLdm(name)!, [1]);
        var detected = SingleFile.DetectFromWeights(shapes, new Dictionary<string, string>(), "sd15-shapes");
        AssertSameConfig(sd, detected.UNet);
        Assert.Equal(new ClipTextConfig(), detected.TextEncoder);
        Assert.Equal(new VaeLayout(4, 2, NameMap.VaePrefix), detected.Vae);
        output.WriteLine(detected.Describe());
    }

    private static long[] Dims(Engine.Tensors.Shape s) => [.. Enumerable.Range(0, s.Rank).Select(i => (long)s[i])];

    [Fact]
    public void RemovedAndExtraTensors_OneErrorNamingBoth()
    {
        string path = BuildSingleFile(edit: t =>
        {
            t.Remove(NameMap.UNetPrefix + "output_blocks.1.0.in_layers.2.bias");
            t.Remove(NameMap.TextEncoderPrefix + "text_model.final_layer_norm.bias");
            t[NameMap.UNetPrefix + "input_blocks.99.0.weight"] = (SafetensorsDType.F32, [2], new byte[8]);
            t["some_other_model.weight"] = (SafetensorsDType.F32, [2], new byte[8]);
        });
        using var arena = new NativeArena();
        var ex = Assert.Throws<InvalidDataException>(() => SingleFile.Load(path, arena));
        output.WriteLine(ex.Message);
        Assert.Contains("up_blocks.0.resnets.1.conv1.bias (file key model.diffusion_model.output_blocks.1.0.in_layers.2.bias)", ex.Message);
        Assert.Contains("text_model.final_layer_norm.bias", ex.Message);
        Assert.Contains("model.diffusion_model.input_blocks.99.0.weight", ex.Message);
        Assert.Contains("some_other_model.weight", ex.Message);
        Assert.DoesNotContain("betas", ex.Message);
        Assert.DoesNotContain("model_ema", ex.Message);
    }

    [Fact]
    public void VaeUnderVaePrefix_Detected()
    {
        string path = BuildSingleFile(edit: t =>
        {
            foreach (var key in t.Keys.Where(k => k.StartsWith(NameMap.VaePrefix, StringComparison.Ordinal)).ToList())
            {
                t["vae." + key[NameMap.VaePrefix.Length..]] = t[key];
                t.Remove(key);
            }
        });
        using var arena = new NativeArena();
        var loaded = SingleFile.Load(path, arena);
        Assert.Equal(new VaeLayout(2, 1, "vae."), loaded.Configs.Vae);
        Assert.Equal("decoder.up_blocks.1.resnets.0.conv1.weight", loaded.VaeKeys["vae.decoder.up.0.block.0.conv1.weight"]);
    }

    [Fact]
    public void NotAnSDFile_Rejected()
    {
        string path = BuildSingleFile(edit: t => t.Remove(NameMap.UNetPrefix + "input_blocks.0.0.weight"));
        using var arena = new NativeArena();
        var ex = Assert.Throws<InvalidDataException>(() => SingleFile.Load(path, arena));
        Assert.Contains("not an SD 1.x single-file checkpoint", ex.Message);
    }

    [Fact]
    public void ShapeMismatch_Named()
    {
        string key = NameMap.UNetPrefix + "time_embed.2.weight";
        string path = BuildSingleFile(edit: t => t[key] = (SafetensorsDType.F32, [3, 5], new byte[60]));
        using var arena = new NativeArena();
        var ex = Assert.Throws<InvalidDataException>(() => SingleFile.Load(path, arena));
        output.WriteLine(ex.Message);
        Assert.Contains("shape or dtype mismatch", ex.Message);
        Assert.Contains(key + ": file has [3, 5], model expects [128, 128]", ex.Message);
        Assert.DoesNotContain("missing", ex.Message); // present with the wrong shape is not also "missing"
    }

    [Fact]
    public void SaveDiffusersFolder_ReloadsBitForBit()
    {
        using var arena = new NativeArena();
        var loaded = SingleFile.Load(BuildSingleFile(), arena);
        string folder = Path.Combine(_dir, "saved");
        DiffusersFolder.Save(folder, loaded.UNet, loaded.TextEncoder, Fixture);
        DiffusersFolder.Save(folder, loaded.UNet, loaded.TextEncoder, Fixture); // replacing an existing folder

        var (unet, te) = LoadFolder(folder, arena);
        AssertSameConfig(loaded.UNet.Config, unet.Config);
        Assert.Equal(loaded.TextEncoder.Config, te.Config);
        AssertSameWeights(loaded.UNet.Parameters, unet.Parameters);
        AssertSameWeights(loaded.TextEncoder.Parameters, te.Parameters);
        foreach (var rel in new[] { "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json", "vae/config.json", "vae/diffusion_pytorch_model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Fixture, rel)), File.ReadAllBytes(Path.Combine(folder, rel)));
        Assert.Contains("UNet2DConditionModel", File.ReadAllText(Path.Combine(folder, "model_index.json")));
        // Atomic: nothing but the finished folder and the test's own files are left behind.
        Assert.DoesNotContain(Directory.GetDirectories(_dir), d => Path.GetFileName(d).StartsWith('.'));
        // The original text_encoder config keys we do not model survive.
        Assert.Contains("\"bos_token_id\": 998", File.ReadAllText(Path.Combine(folder, "text_encoder", "config.json")));
    }

    [Fact]
    public void SaveDiffusersFolder_WithoutSource_HasOnlyTheModels()
    {
        using var arena = new NativeArena();
        var (unet, te) = LoadFolder(Fixture, arena);
        string folder = Path.Combine(_dir, "bare");
        DiffusersFolder.Save(folder, unet, te);
        Assert.Equal(["model_index.json"], Directory.GetFiles(folder).Select(Path.GetFileName));
        Assert.Equal(["text_encoder", "unet"], Directory.GetDirectories(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var (unet2, te2) = LoadFolder(folder, arena);
        AssertSameConfig(unet.Config, unet2.Config);
        AssertSameWeights(unet.Parameters, unet2.Parameters);
        AssertSameWeights(te.Parameters, te2.Parameters);
    }

    [Fact]
    public void SaveSingleFile_RoundTripsWithLdmNames()
    {
        using var arena = new NativeArena();
        var (unet, te) = LoadFolder(Fixture, arena);
        string path = Path.Combine(_dir, "saved.safetensors");
        SingleFile.Save(path, unet, te, Path.Combine(Fixture, "vae"));

        using (var file = SafetensorsReader.Open(path))
        {
            Assert.Equal(304 + 84 + 124, file.Tensors.Count);
            Assert.True(file.Contains("model.diffusion_model.output_blocks.2.2.conv.weight"));
            Assert.True(file.Contains("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
            Assert.Equal([64, 64, 1, 1], file.Info("first_stage_model.decoder.mid.attn_1.q.weight").Shape);
            using var vae = SafetensorsReader.Open(ModelFiles.WeightFile(Path.Combine(Fixture, "vae")));
            Assert.True(vae.RawBytes("decoder.mid_block.attentions.0.to_q.weight").SequenceEqual(file.RawBytes("first_stage_model.decoder.mid.attn_1.q.weight")));
        }
        var loaded = SingleFile.Load(path, arena);
        AssertSameConfig(unet.Config, loaded.UNet.Config);
        Assert.Equal(te.Config, loaded.TextEncoder.Config);
        AssertSameWeights(unet.Parameters, loaded.UNet.Parameters);
        AssertSameWeights(te.Parameters, loaded.TextEncoder.Parameters);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void UNetFromSingleFile_SameOutputAsFolder()
    {
        var ops = new CpuOps();
        using var parameters = new NativeArena();
        var fromFile = SingleFile.Load(BuildSingleFile(), parameters).UNet;
        var fromFolder = ModelFiles.LoadUNet(Path.Combine(Fixture, "unet"), parameters);
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        var latents = cases.LoadF32("unet.latents", parameters);
        var ehs = cases.LoadF32("unet.encoder_hidden_states", parameters);
        var steps = new int[latents.Dim(0)];
        cases.ReadI32("unet.timesteps", steps);
        var timesteps = Array.ConvertAll(steps, s => (float)s);

        float[] Run(UNet2DConditionModel model)
        {
            using var activations = new NativeArena();
            using var gradients = new NativeArena();
            var eps = model.Forward(new Workspace(ops, activations, gradients), latents, timesteps, ehs);
            var host = new float[eps.Numel];
            ops.CopyToHost(host, eps);
            return host;
        }
        var a = Run(fromFile);
        var b = Run(fromFolder);
        Assert.True(MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan())), "single-file UNet output differs from the folder's");

        // And both match diffusers' output in the fixture.
        var reference = new float[cases.Info("unet.out").Numel];
        cases.ReadF32("unet.out", reference);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < a.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs((double)a[i] - reference[i]));
            maxRef = Math.Max(maxRef, Math.Abs(reference[i]));
        }
        Assert.True(maxErr / maxRef < 1e-5, $"relative error {maxErr / maxRef:E2}");
    }
}
