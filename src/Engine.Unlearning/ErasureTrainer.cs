using System.Diagnostics;
using Engine.Diffusion;
using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Gan;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Rng;
using Engine.Tensors;

namespace Engine.Unlearning;

/// <summary>
/// The unlearning loop for DoCo (doco-spec §2.2, §4), Concept Ablation (§5.1) and ESD (§5.2) over one UNet whose
/// trainable subset is packed first in its parameter store. The frozen θ₀ / θ* predictions run on the same UNet with
/// the original values of the trainable tensors swapped in (one copy of them is kept; no second UNet).
/// Every random draw is a Philox stream keyed by (seed, purpose) at an offset computed from the step number, so the
/// whole RNG state is the step counter and a resumed run repeats the bits of an uninterrupted one.
/// The method files (DoCoStep.cs, AblationStep.cs, EsdStep.cs) hold one step each; Checkpoint.cs the run state on disk.
/// </summary>
public sealed partial class ErasureTrainer : IDisposable
{
    private readonly IOps _ops;
    private readonly UNet2DConditionModel _unet;
    private readonly ErasureInputs _in;
    private readonly NoiseSchedule _schedule;
    private readonly SchedulerConfig _schedulerConfig;
    // Every tensor lives in the backend's memory: run state, the UNet's and D's activations and gradients.
    private readonly ITensorArena _state, _act, _grad, _dAct, _dGrad;
    private readonly Workspace _w, _wd;

    // Optimizer state: AdamW moments of the trainable UNet tensors; Adam moments of D.
    private readonly Tensor _m, _v, _dm, _dv;
    // θ₀: the original values of the trainable tensors; _swap holds the current ones while θ₀ is swapped in.
    private readonly Tensor _original, _swap;
    // The retain gradient g_r for the surgery, and the surgery's statistics [segments + 1, 4].
    private readonly Tensor _gradR, _stats, _loss;
    private readonly float[] _hostStats;

    // Batch buffers, sized for 2B samples.
    private readonly Tensor _z, _noise, _xt, _ehs, _ehsAnchor, _epsFrozen, _epsHat, _x0Fake, _x0Real, _x0FakeRaw, _x0RealRaw, _dEps, _dx0;
    private readonly float[] _timesteps;
    // The inputs, uploaded once: anchor images [N, C, H, W] (and their mirror images with HFlip), text states [P, L, D].
    private readonly Tensor _images, _imagesMirrored, _anchorText, _targetText, _emptyText, _conceptText;
    // Host copies of the instance half's x̂0s, for the per-timestep telemetry.
    private readonly float[] _hostFake, _hostReal;
    private readonly int[] _instanceOrder;

    public ErasureSettings Settings { get; }
    public UNet2DConditionModel Unet => _unet;

    /// <summary>DoCo's discriminator (null for CA and ESD).</summary>
    public PatchDiscriminator? Discriminator { get; }

    /// <summary>Iterations done (warm-up and skipped ones included); the next step's index.</summary>
    public int Step { get; private set; }

    /// <summary>UNet and discriminator optimizer steps taken (Adam's bias-correction counters).</summary>
    public int GeneratorSteps { get; private set; }
    public int DiscriminatorSteps { get; private set; }

    /// <summary>Iterations skipped because a loss or a gradient was NaN or infinite.</summary>
    public int SkippedSteps { get; private set; }

    public ErasureTrainer(IOps ops, UNet2DConditionModel unet, SchedulerConfig schedulerConfig, ErasureInputs inputs, ErasureSettings settings)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(schedulerConfig);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var layout = unet.Parameters.Layout;
        if (layout.TrainableCount == 0) throw new ArgumentException("the UNet has no trainable parameters", nameof(unet));
        var cfg = unet.Config;
        if (inputs.Channels != cfg.InChannels)
            throw new ArgumentException($"anchor images have {inputs.Channels} channels, the UNet takes {cfg.InChannels}", nameof(inputs));
        if (inputs.Dim != cfg.CrossAttentionDim)
            throw new ArgumentException($"text states are {inputs.Dim} wide, the UNet's cross_attention_dim is {cfg.CrossAttentionDim}", nameof(inputs));
        if (inputs.Count < 1) throw new ArgumentException("no anchor images", nameof(inputs));
        if (settings.Method == ErasureMethod.Esd && settings.EsdDdimSteps > schedulerConfig.NumTrainTimesteps)
            throw new ArgumentException($"ESD DDIM steps {settings.EsdDdimSteps} exceed the {schedulerConfig.NumTrainTimesteps} train timesteps", nameof(settings));
        if (settings.AdversarialTMin >= schedulerConfig.NumTrainTimesteps)
            throw new ArgumentException($"the adversarial timestep range starts at {settings.AdversarialTMin}, past the schedule's {schedulerConfig.NumTrainTimesteps} timesteps", nameof(settings));
        _ops = ops;
        _unet = unet;
        _in = inputs;
        Settings = settings;
        _schedulerConfig = schedulerConfig;
        _schedule = new NoiseSchedule(schedulerConfig);
        (_state, _act, _grad, _dAct, _dGrad) = (ops.CreateArena(), ops.CreateArena(), ops.CreateArena(), ops.CreateArena(), ops.CreateArena());
        _w = new Workspace(ops, _act, _grad);
        _wd = new Workspace(ops, _dAct, _dGrad);
        unet.DetachBosKeyValue = settings.DetachBos;

        int trainable = checked((int)layout.TrainableCount);
        _m = _state.Alloc(new Shape(trainable), zero: true);
        _v = _state.Alloc(new Shape(trainable), zero: true);
        _original = _state.Alloc(new Shape(trainable));
        _swap = _state.Alloc(new Shape(trainable));
        ops.Copy(_original, unet.Parameters.TrainableWeights);
        _gradR = _state.Alloc(new Shape(trainable));
        int segments = layout.TrainableSegments.Count;
        _stats = _state.Alloc(new Shape(segments + 1, 4));
        _hostStats = new float[(segments + 1) * 4];
        _loss = _state.Alloc(new Shape(1));

        int b2 = 2 * settings.Batch;
        var img = new Shape(b2, inputs.Channels, inputs.Height, inputs.Width);
        _z = _state.Alloc(img);
        _noise = _state.Alloc(img);
        _xt = _state.Alloc(img);
        _epsFrozen = _state.Alloc(img);
        _epsHat = _state.Alloc(img);
        _dEps = _state.Alloc(img);
        _x0Fake = _state.Alloc(img);
        _x0Real = _state.Alloc(img);
        _x0FakeRaw = _state.Alloc(img);
        _x0RealRaw = _state.Alloc(img);
        _dx0 = _state.Alloc(img);
        _hostFake = new float[(long)settings.Batch * inputs.ImageSize];
        _hostReal = new float[(long)settings.Batch * inputs.ImageSize];
        _ehs = _state.Alloc(new Shape(b2, inputs.Length, inputs.Dim));
        _ehsAnchor = _state.Alloc(new Shape(b2, inputs.Length, inputs.Dim));
        _timesteps = new float[b2];
        var imageShape = new Shape(inputs.Count, inputs.Channels, inputs.Height, inputs.Width);
        _images = _state.Upload(inputs.Images, imageShape);
        _imagesMirrored = settings.HFlip ? _state.Upload(Mirrored(inputs.Images, inputs.Width), imageShape) : Tensor.None;
        var textShape = new Shape(inputs.PromptCount, inputs.Length, inputs.Dim);
        _anchorText = _state.Upload(inputs.AnchorText, textShape);
        _targetText = _state.Upload(inputs.TargetText, textShape);
        _emptyText = _state.Upload(inputs.EmptyText, new Shape(inputs.Length, inputs.Dim));
        _conceptText = _state.Upload(inputs.ConceptText, new Shape(inputs.Length, inputs.Dim));
        // ESD's host-side DDIM buffers (the other methods sample nothing).
        long esd = settings.Method == ErasureMethod.Esd ? (long)settings.Batch * inputs.ImageSize : 0;
        (_esdX, _esdNext, _esdGuided, _esdOut) = (new float[esd], new float[esd], new float[esd], new float[2 * esd]);

        // The instance half walks a seeded shuffle of the images, the class half walks them in order (§1).
        _instanceOrder = [.. Enumerable.Range(0, inputs.Count)];
        new Random(unchecked((int)settings.Seed)).Shuffle(_instanceOrder);

        if (settings.Method == ErasureMethod.DoCo)
        {
            // L stride-2 4×4 convolutions halve the image L times, the stride-1 4×4 block and head take one pixel each.
            int patches = (Math.Min(inputs.Height, inputs.Width) >> settings.DiscriminatorLayers) - 2;
            if (patches < 1)
                throw new ArgumentException($"a discriminator with {settings.DiscriminatorLayers} layers leaves no patch of a {inputs.Height}×{inputs.Width} image (at most {MaxDiscriminatorLayers(Math.Min(inputs.Height, inputs.Width))} layers fit)", nameof(settings));
            Discriminator = new PatchDiscriminator(inputs.Channels, _state, settings.DiscriminatorWidth, settings.DiscriminatorLayers, settings.DiscriminatorBatchNorm);
            DiscriminatorInit.Fill(ops, Discriminator, Stream(Purpose.DiscriminatorInit));
            int dn = checked((int)Discriminator.Parameters.Layout.TotalCount);
            _dm = _state.Alloc(new Shape(dn), zero: true);
            _dv = _state.Alloc(new Shape(dn), zero: true);
        }
    }

    /// <summary>The most discriminator layers that leave at least one patch of an image whose smaller side is <paramref name="size"/>.</summary>
    private static int MaxDiscriminatorLayers(int size)
    {
        int layers = 0;
        while ((size >> (layers + 1)) - 2 >= 1) layers++;
        return layers;
    }

    /// <summary>Runs one iteration of the configured method and advances <see cref="Step"/>.</summary>
    public StepRecord TrainStep()
    {
        var record = Settings.Method switch
        {
            ErasureMethod.DoCo => DoCoStep(),
            ErasureMethod.ConceptAblation => AblationStep(),
            ErasureMethod.Esd => EsdStep(),
            _ => throw new InvalidOperationException($"unknown method {Settings.Method}"),
        };
        if (record.Skipped) SkippedSteps++;
        Step++;
        return record;
    }

    /// <summary>
    /// Trains until <see cref="ErasureSettings.Steps"/> iterations are done, checkpointing every
    /// <see cref="ErasureSettings.CheckpointInterval"/> steps and at the end. A cancellation stops at the next step
    /// boundary and saves a checkpoint. Returns false when cancelled.
    /// </summary>
    public bool Run(Action<StepRecord>? onStep, string? checkpointPath, CancellationToken cancel = default)
    {
        while (Step < Settings.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
                return false;
            }
            var record = TrainStep();
            onStep?.Invoke(record);
            if (checkpointPath is not null && Settings.CheckpointInterval > 0 && Step % Settings.CheckpointInterval == 0 && Step < Settings.Steps)
                SaveCheckpoint(checkpointPath);
        }
        if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
        return true;
    }

    // ---- shared pieces of the steps ----

    /// <summary>Random streams, one per purpose, so adding a draw in one place never shifts another.</summary>
    private enum Purpose : ulong { Noise = 1, Timesteps = 2, DiscriminatorInit = 3, EsdStart = 4, EsdIndex = 5, Flip = 6 }

    private ulong Stream(Purpose p) => unchecked(Settings.Seed * 0x9E3779B97F4A7C15UL + (ulong)p);

    /// <summary>
    /// Fills the batch: samples 0..B-1 are the instance half (image from the shuffled order, conditioned on its target
    /// prompt; _ehsAnchor holds its own anchor caption), samples B..2B-1 the class half (image in order, its anchor
    /// caption). ε ~ N(0, I) and t ~ U{0..T-1} per sample (DoCo's instance half: U{TMin..TMax-1}), from the step's
    /// offsets of their streams; with HFlip each image is mirrored left-right with probability ½.
    /// </summary>
    private void SampleBatch(int n)
    {
        int b = Settings.Batch, img = _in.ImageSize, ts = _in.TextSize, b2 = 2 * b;
        Span<float> flip = stackalloc float[n];
        if (Settings.HFlip) Philox.FillUniform(flip, Stream(Purpose.Flip), (ulong)Step * (ulong)b2);
        for (int i = 0; i < n; i++)
        {
            bool instance = i < b;
            long k = (long)Step * b + (instance ? i : i - b);
            int image = instance ? _instanceOrder[(int)(k % _in.Count)] : (int)(k % _in.Count);
            int prompt = _in.PromptOfImage[image];
            var images = Settings.HFlip && flip[i] < 0.5f ? _imagesMirrored : _images;
            _ops.Copy(_z.Slice((long)i * img, img), images.Slice((long)image * img, img));
            var cond = instance ? _targetText : _anchorText;
            _ops.Copy(_ehs.Slice((long)i * ts, ts), cond.Slice((long)prompt * ts, ts));
            _ops.Copy(_ehsAnchor.Slice((long)i * ts, ts), _anchorText.Slice((long)prompt * ts, ts));
        }
        int total = _schedule.NumTrainTimesteps;
        _ops.RandomNormal(_noise.Slice(0, n * img), Stream(Purpose.Noise), (ulong)Step * (ulong)(b2 * img));
        Span<float> u = stackalloc float[n];
        Philox.FillUniform(u, Stream(Purpose.Timesteps), (ulong)Step * (ulong)b2);
        var (lo, hi) = AdversarialRange;
        for (int i = 0; i < n; i++)
        {
            bool adversarial = Settings.Method == ErasureMethod.DoCo && i < b;
            int from = adversarial ? lo : 0, count = adversarial ? hi - lo : total;
            _timesteps[i] = from + Math.Min((int)(u[i] * count), count - 1);
        }
    }

    /// <summary>DoCo's instance-half timestep range [lo, hi), clipped to the schedule.</summary>
    private (int Lo, int Hi) AdversarialRange
    {
        get
        {
            int total = _schedule.NumTrainTimesteps;
            int hi = Settings.AdversarialTMax > 0 ? Math.Min(Settings.AdversarialTMax, total) : total;
            return (Settings.AdversarialTMin, hi);
        }
    }

    /// <summary>The images with every row reversed (left-right mirrors of [N, C, H, W] images).</summary>
    private static float[] Mirrored(float[] src, int width)
    {
        var dst = new float[src.Length];
        for (int row = 0; row < src.Length; row += width)
            for (int x = 0; x < width; x++) dst[row + x] = src[row + width - 1 - x];
        return dst;
    }

    private float SqrtAlphaBar(int i) => Noising.Coefficients(_schedule, _timesteps[i]).SqrtAlphaBar;

    private float SqrtOneMinusAlphaBar(int i) => Noising.Coefficients(_schedule, _timesteps[i]).SqrtOneMinusAlphaBar;

    /// <summary>x_t = √ᾱ_t·z + √(1−ᾱ_t)·ε for samples [0, n).</summary>
    private void AddNoise(int n) => Noising.AddNoise(_ops, _schedule, Head(_xt, n), Head(_z, n), Head(_noise, n), _timesteps.AsSpan(0, n));

    /// <summary>
    /// x̂₀ = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t for samples [0, n) (DDPM pred_original_sample, §2.2 step 7), into
    /// <paramref name="raw"/>; then clamped to ±clip_sample_range into <paramref name="x0"/> when the scheduler sets
    /// clip_sample, as the DDPM step does (SD 1.x: not set, so x0 = raw). With a linear β schedule the x̂₀ of a
    /// high t amplifies ε̂'s error ~150×; unclamped, most of it lies far outside the images' range.
    /// </summary>
    private void PredictX0(Tensor x0, Tensor raw, Tensor eps, int n)
    {
        Noising.PredictX0(_ops, _schedule, Head(raw, n), Head(_xt, n), Head(eps, n), _timesteps.AsSpan(0, n));
        var head = Head(raw, n);
        if (_schedulerConfig.ClipSample) _ops.ClampForward(Head(x0, n), head, -_schedulerConfig.ClipSampleRange, _schedulerConfig.ClipSampleRange);
        else _ops.Copy(Head(x0, n), head);
    }

    /// <summary>dL/dx̂₀(raw) from dL/dx̂₀(clamped), in place: zero where the clamp cut the value.</summary>
    private void ClampBackward(Tensor dx0, int n)
    {
        if (_schedulerConfig.ClipSample)
            _ops.ClampBackward(Head(dx0, n), Head(dx0, n), Head(_x0FakeRaw, n), -_schedulerConfig.ClipSampleRange, _schedulerConfig.ClipSampleRange);
    }

    /// <summary>The batch of samples [0, n) of a [2B, ...] buffer.</summary>
    private Tensor Head(Tensor t, int n) => Part(t, 0, n);

    /// <summary>Samples [from, from + n) of a [2B, ...] buffer.</summary>
    private Tensor Part(Tensor t, int from, int n)
    {
        long per = t.Numel / (2 * Settings.Batch);
        int[] dims = [.. t.Shape.ToArray()];
        dims[0] = n;
        return t.Slice(from * per, dims);
    }

    private float HostLoss()
    {
        Span<float> v = stackalloc float[1];
        _ops.CopyToHost(v, _loss);
        return v[0];
    }

    private static double Seconds(long start) => Stopwatch.GetElapsedTime(start).TotalSeconds;

    public void Dispose()
    {
        _state.Dispose();
        _act.Dispose();
        _grad.Dispose();
        _dAct.Dispose();
        _dGrad.Dispose();
    }
}
