using Engine.IO;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.World.Classifier;

/// <summary>
/// A small CNN that labels an image of the world with its shape, colour and style (docs/world.md): the ground-truth
/// reader the ruler measures generated samples with, as CLIP is in the paper's metrics. Inputs are [N, 3, 32, 32]
/// in [-1, 1]. Forward and backward side by side; the activations of one batch size live in
/// <see cref="ClassifierActivations"/>.
/// </summary>
public sealed class WorldClassifier : IDisposable
{
    public const string WeightsFile = "classifier.safetensors", ConfigFile = "config.json";

    // The backend's memory; weights enter and leave it through Parameters.Memory.
    private readonly ITensorArena _params;
    private readonly Conv2d[] _convs;
    private readonly GroupNorm[] _norms;
    private readonly Linear _fc, _head;

    public ClassifierConfig Config { get; }
    public ParameterStore Parameters { get; }
    public IOps Ops { get; }

    /// <summary>Total logits per image (Σ heads).</summary>
    public int LogitWidth => Config.Heads.Sum();

    public WorldClassifier(ClassifierConfig config, IOps ops, bool trainable = false)
    {
        Config = config;
        Ops = ops;
        _params = ops.CreateArena();
        Parameters = new ParameterStore(new ParameterLayout(Declare(config), _ => trainable), _params);
        int layers = config.Channels.Length;
        _convs = new Conv2d[layers];
        _norms = new GroupNorm[layers];
        for (int i = 0; i < layers; i++)
        {
            _convs[i] = new Conv2d(Parameters, $"conv{i}", stride: i == 0 ? 1 : 2, padding: 1);
            _norms[i] = new GroupNorm(Parameters, $"norm{i}", config.NormGroups, 1e-5f);
        }
        _fc = new Linear(Parameters, "fc");
        _head = new Linear(Parameters, "head");
    }

    /// <summary>Side of the last feature map: the first convolution keeps the size, every other one halves it.</summary>
    public static int FinalSize(ClassifierConfig c) => c.ImageSize >> (c.Channels.Length - 1);

    public static List<(string, Shape)> Declare(ClassifierConfig c)
    {
        var p = new List<(string, Shape)>();
        int inC = 3;
        for (int i = 0; i < c.Channels.Length; i++)
        {
            Conv2d.Declare(p, $"conv{i}", inC, c.Channels[i], 3);
            GroupNorm.Declare(p, $"norm{i}", c.Channels[i]);
            inC = c.Channels[i];
        }
        int s = FinalSize(c);
        Linear.Declare(p, "fc", inC * s * s, c.Features);
        Linear.Declare(p, "head", c.Features, c.Heads.Sum());
        return p;
    }

    /// <summary>PyTorch's default initialization (as the built-in model's), deterministic in the seed.</summary>
    public void Initialize(ulong seed) => WorldModel.Initialize(Ops, Parameters, seed);

    public ClassifierActivations Activations(int batch) => new(this, batch);

    /// <summary>Logits [N, Σ heads] of images x [N, 3, S, S] (N = the activations' batch).</summary>
    public Tensor Forward(ClassifierActivations a, Tensor x)
    {
        var ops = Ops;
        var input = x;
        for (int i = 0; i < _convs.Length; i++)
        {
            _convs[i].Forward(ops, a.Conv[i], input);
            _norms[i].Forward(ops, a.Norm[i], a.Mean[i], a.Rstd[i], a.Conv[i]);
            ops.SiluForward(a.Act[i], a.Norm[i]);
            input = a.Act[i];
        }
        _fc.Forward(ops, a.FcOut, input);
        ops.SiluForward(a.Features, a.FcOut);
        _head.Forward(ops, a.Logits, a.Features);
        return a.Logits;
    }

    /// <summary>Accumulates parameter gradients for ∂loss/∂logits (dx of the image is not needed).</summary>
    public void Backward(ClassifierActivations a, Tensor x, Tensor dLogits)
    {
        var ops = Ops;
        _head.Backward(ops, a.dFeatures, dLogits, a.Features);
        ops.SiluBackward(a.dFcOut, a.dFeatures, a.FcOut);
        int last = _convs.Length - 1;
        _fc.Backward(ops, a.dAct[last], a.dFcOut, a.Act[last]);
        for (int i = last; i >= 0; i--)
        {
            ops.SiluBackward(a.dNorm[i], a.dAct[i], a.Norm[i]);
            _norms[i].Backward(ops, a.dConv[i], a.dNorm[i], a.Conv[i], a.Mean[i], a.Rstd[i]);
            _convs[i].Backward(ops, i == 0 ? Tensor.None : a.dAct[i - 1], a.dConv[i], i == 0 ? x : a.Act[i - 1]);
        }
    }

    /// <summary>
    /// Runs the classifier over host images [n, 3, S, S] in chunks; returns the predicted label of each head
    /// [n, heads] and, if asked, the penultimate features [n, Features].
    /// </summary>
    public (int[] Labels, float[]? Features) Classify(ReadOnlySpan<float> images, int n, bool features = false, int chunk = 100)
    {
        int numel = 3 * Config.ImageSize * Config.ImageSize;
        if (images.Length != (long)n * numel) throw new ArgumentException($"{images.Length} values for {n} images of 3×{Config.ImageSize}×{Config.ImageSize}");
        int heads = Config.Heads.Length, f = Config.Features, width = LogitWidth;
        var labels = new int[n * heads];
        var feats = features ? new float[n * f] : null;
        int b = Math.Max(1, Math.Min(chunk, n));
        using var a = Activations(b);
        var host = new float[b * width];
        var hostF = new float[b * f];
        for (int start = 0; start < n; start += b)
        {
            int m = Math.Min(b, n - start);
            // The last chunk is padded with zeros: GroupNorm is per image, so the padding does not touch real rows.
            if (m < b) Ops.Fill(a.Input, 0f);
            Ops.CopyFromHost(a.Input.Slice(0, m * numel), images.Slice(start * numel, m * numel));
            var logits = Forward(a, a.Input);
            Ops.CopyToHost(host, logits);
            SoftmaxCrossEntropy.Predict(host.AsSpan(0, m * width), Config.Heads, m).CopyTo(labels.AsSpan(start * heads));
            if (feats is not null)
            {
                Ops.CopyToHost(hostF, a.Features);
                hostF.AsSpan(0, m * f).CopyTo(feats.AsSpan(start * f));
            }
        }
        return (labels, feats);
    }

    /// <summary>Writes classifier.safetensors and config.json into <paramref name="dir"/> (each file atomically).</summary>
    public void Save(string dir, ClassifierConfig config)
    {
        Directory.CreateDirectory(dir);
        var writer = new SafetensorsWriter();
        foreach (var p in Parameters.Layout.Parameters) writer.Add(p.Name, Parameters.Weight(p.Name), Parameters.Memory);
        writer.Save(Path.Combine(dir, WeightsFile));
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJson() + "\n");
    }

    public static WorldClassifier Load(string dir, IOps ops)
    {
        if (Missing(dir) is { } why) throw new FileNotFoundException(why);
        string configPath = Path.Combine(dir, ConfigFile), weightsPath = Path.Combine(dir, WeightsFile);
        var c = new WorldClassifier(ClassifierConfig.FromJson(File.ReadAllText(configPath)), ops);
        using var r = SafetensorsReader.Open(weightsPath);
        foreach (var p in c.Parameters.Layout.Parameters) r.ReadF32(p.Name, c.Parameters.Weight(p.Name), c.Parameters.Memory);
        return c;
    }

    /// <summary>Why <paramref name="dir"/> holds no classifier, or null when it has both files (checked before a backend starts).</summary>
    public static string? Missing(string dir) =>
        File.Exists(Path.Combine(dir, ConfigFile)) && File.Exists(Path.Combine(dir, WeightsFile))
            ? null
            : $"no classifier in {dir} (expected {ConfigFile} and {WeightsFile}; train one with `doco world classifier`)";

    /// <summary>
    /// The shipped classifier: models/classifier found by walking up from <paramref name="start"/> (default: the
    /// current directory), or null.
    /// </summary>
    public static string? FindShipped(string? start = null) => ModelSearch.FindUp(Path.Combine("models", "classifier"), start, ConfigFile);

    public void Dispose() => _params.Dispose();
}

/// <summary>The activations and their gradients for one batch size (one arena, freed on dispose).</summary>
public sealed class ClassifierActivations : IDisposable
{
    private readonly ITensorArena _arena;

    public readonly int Batch;
    public readonly Tensor Input;
    public readonly Tensor[] Conv, Norm, Mean, Rstd, Act, dConv, dNorm, dAct;
    public readonly Tensor FcOut, Features, Logits, dFcOut, dFeatures;

    internal ClassifierActivations(WorldClassifier model, int batch)
    {
        var c = model.Config;
        _arena = model.Ops.CreateArena(8L << 20);
        Batch = batch;
        Input = _arena.Alloc(new Shape(batch, 3, c.ImageSize, c.ImageSize));
        int layers = c.Channels.Length;
        Conv = new Tensor[layers]; Norm = new Tensor[layers]; Mean = new Tensor[layers]; Rstd = new Tensor[layers];
        Act = new Tensor[layers]; dConv = new Tensor[layers]; dNorm = new Tensor[layers]; dAct = new Tensor[layers];
        int size = c.ImageSize;
        for (int i = 0; i < layers; i++)
        {
            if (i > 0) size /= 2;
            var shape = new Shape(batch, c.Channels[i], size, size);
            Conv[i] = _arena.Alloc(shape);
            Norm[i] = _arena.Alloc(shape);
            Act[i] = _arena.Alloc(shape);
            dConv[i] = _arena.Alloc(shape);
            dNorm[i] = _arena.Alloc(shape);
            dAct[i] = _arena.Alloc(shape);
            Mean[i] = _arena.Alloc(new Shape(batch, c.NormGroups));
            Rstd[i] = _arena.Alloc(new Shape(batch, c.NormGroups));
        }
        FcOut = _arena.Alloc(new Shape(batch, c.Features));
        Features = _arena.Alloc(new Shape(batch, c.Features));
        dFcOut = _arena.Alloc(new Shape(batch, c.Features));
        dFeatures = _arena.Alloc(new Shape(batch, c.Features));
        Logits = _arena.Alloc(new Shape(batch, c.Heads.Sum()));
    }

    public void Dispose() => _arena.Dispose();
}
