using Engine.Cpu;
using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Models.Text;
using Engine.Models.Unet;
using Engine.Rng;
using Engine.Unlearning;

namespace Engine.Tests.Unlearning;

/// <summary>
/// The tiny-sd fixture set up for trainer tests: its UNet (a chosen trainable subset), its text encoder's states of a
/// few prompts, and synthetic anchor latents (Philox normals; the trainer does not care where they came from).
/// </summary>
internal sealed class TinyTrainer : IDisposable
{
    public static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    private readonly NativeArena _weights = new();
    public CpuOps Ops { get; } = new(2);
    public UNet2DConditionModel Unet { get; }
    public SchedulerConfig Scheduler { get; }
    public ErasureInputs Inputs { get; }

    public TinyTrainer(Func<string, bool> trainable, int images = 3)
    {
        Unet = ModelFiles.LoadUNet(Path.Combine(Fixture, "unet"), _weights, trainable);
        Scheduler = SchedulerConfig.FromJson(Path.Combine(Fixture, "scheduler", "scheduler_config.json"));
        Inputs = MakeInputs(Ops, images);
    }

    private static ErasureInputs? _cached;
    private static readonly Lock Gate = new();

    /// <summary>Prompts encoded once per test process (the text encoder is frozen and the prompts fixed).</summary>
    public static ErasureInputs MakeInputs(CpuOps ops, int images)
    {
        ErasureInputs text;
        lock (Gate)
        {
            if (_cached is null)
            {
                using var arena = new NativeArena();
                var tok = ClipTokenizer.FromDirectory(Path.Combine(Fixture, "tokenizer"));
                var te = ModelFiles.LoadTextEncoder(Path.Combine(Fixture, "text_encoder"), arena);
                string[] anchors = ["a photo of a circle", "a circle on a table"];
                string[] targets = ["a photo of a star", "a star on a table"];
                var all = ErasureInputs.EncodeAll(ops, tok, te, [.. anchors, .. targets, "", "star"]);
                int ts = te.Config.MaxPositionEmbeddings * te.Config.HiddenSize;
                _cached = new ErasureInputs
                {
                    Images = [],
                    Count = 0,
                    Channels = 4,
                    Height = 32,
                    Width = 32,
                    Length = te.Config.MaxPositionEmbeddings,
                    Dim = te.Config.HiddenSize,
                    AnchorText = all[..(2 * ts)],
                    TargetText = all[(2 * ts)..(4 * ts)],
                    EmptyText = all[(4 * ts)..(5 * ts)],
                    ConceptText = all[(5 * ts)..],
                    PromptOfImage = [],
                };
            }
            text = _cached;
        }
        var x0 = new float[images * 4 * 32 * 32];
        Philox.FillNormal(x0, 77, 0);
        return new ErasureInputs
        {
            Images = x0,
            Count = images,
            Channels = 4,
            Height = 32,
            Width = 32,
            Length = text.Length,
            Dim = text.Dim,
            AnchorText = text.AnchorText,
            TargetText = text.TargetText,
            EmptyText = text.EmptyText,
            ConceptText = text.ConceptText,
            PromptOfImage = [.. Enumerable.Range(0, images).Select(i => i % 2)],
        };
    }

    public ErasureTrainer Trainer(ErasureSettings settings) => new(Ops, Unet, Scheduler, Inputs, settings);

    public float[] TrainableWeights() => Unet.Parameters.TrainableWeights.AsSpan().ToArray();

    public void Dispose() => _weights.Dispose();
}
