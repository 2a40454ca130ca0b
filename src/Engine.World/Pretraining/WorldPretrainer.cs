using Engine.Diffusion.Schedulers;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Loading;
using Engine.Models.Text;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.World.Pretraining;

/// <summary>One pretraining step's outcome.</summary>
public readonly record struct PretrainStep(int Step, float Loss, float GradNorm, float LearningRate, bool Skipped);

/// <summary>
/// Trains the built-in model from scratch on rendered scenes (docs/world.md): the standard ε-prediction loss
/// ‖ε_θ(x_t, t, E(caption)) − ε‖² with t uniform, UNet and text encoder together, AdamW, global gradient clipping,
/// and an exponential moving average of the weights, which is what gets exported. Every random draw derives from
/// (seed, step), so a resumed run repeats an uninterrupted one exactly.
/// Folders: <c>state</c> holds the skeleton (tokenizer, scheduler), checkpoint.safetensors and loss.csv;
/// <c>output</c> receives the exported diffusers folder at every checkpoint.
/// </summary>
public sealed class WorldPretrainer : IDisposable
{
    private readonly NativeArena _params = new(), _acts = new(), _grads = new(), _state = new();
    private readonly IOps _ops;
    private readonly PretrainSettings _s;
    private readonly string _stateDir, _outputDir, _skeleton;
    private readonly UNet2DConditionModel _unet, _emaUnet;
    private readonly ClipTextModel _text, _emaText;
    private readonly ClipTokenizer _tokenizer;
    private readonly WorldRenderer _renderer = new(WorldModel.ImageSize);
    private readonly NoiseSchedule _schedule;
    private readonly ClipActivations _textActs;
    private readonly Workspace _w;
    // Adam moments, one pair per model; the step's buffers, allocated once.
    private readonly Tensor _unetM, _unetV, _textM, _textV;
    private readonly Tensor _x0, _noise, _xt, _ids, _dEps, _dEhs, _loss, _norm;

    public int Step { get; private set; }

    public WorldPretrainer(IOps ops, PretrainSettings settings, string stateDir, string outputDir)
    {
        _ops = ops;
        _s = settings;
        _stateDir = stateDir;
        _outputDir = outputDir;
        _skeleton = Path.Combine(stateDir, "skeleton");
        // A resumed run keeps its skeleton: the weights are tied to that tokenizer.
        if (!Directory.Exists(_skeleton)) WriteSkeleton(_skeleton);
        _tokenizer = ClipTokenizer.FromDirectory(Path.Combine(_skeleton, "tokenizer"));
        int vocab = WorldTokenizer.VocabSize(Path.Combine(_skeleton, "tokenizer"));
        _schedule = new NoiseSchedule(SchedulerConfig.FromJson(Path.Combine(_skeleton, "scheduler", "scheduler_config.json")));

        _unet = new UNet2DConditionModel(WorldModel.UNet, _params, _ => true);
        _text = new ClipTextModel(WorldModel.TextEncoder(vocab), _params, _ => true);
        _emaUnet = new UNet2DConditionModel(WorldModel.UNet, _params);
        _emaText = new ClipTextModel(WorldModel.TextEncoder(vocab), _params);
        WorldModel.Initialize(ops, _unet.Parameters, settings.Seed);
        WorldModel.Initialize(ops, _text.Parameters, settings.Seed + 1);
        ops.Copy(_emaUnet.Parameters.Weights, _unet.Parameters.Weights);
        ops.Copy(_emaText.Parameters.Weights, _text.Parameters.Weights);

        _unetM = _state.Alloc(_unet.Parameters.Grads.Shape, zero: true);
        _unetV = _state.Alloc(_unet.Parameters.Grads.Shape, zero: true);
        _textM = _state.Alloc(_text.Parameters.Grads.Shape, zero: true);
        _textV = _state.Alloc(_text.Parameters.Grads.Shape, zero: true);

        int b = settings.Batch, n = WorldModel.ImageSize;
        var image = new Shape(b, 3, n, n);
        _x0 = _state.Alloc(image);
        _noise = _state.Alloc(image);
        _xt = _state.Alloc(image);
        _dEps = _state.Alloc(image);
        _ids = _state.Alloc(new Shape(b, WorldModel.MaxTokens), DType.I32);
        _dEhs = _state.Alloc(new Shape(b, WorldModel.MaxTokens, _text.Config.HiddenSize));
        _loss = _state.Alloc(new Shape(1));
        _norm = _state.Alloc(new Shape(1));
        _textActs = _text.Activations(_state, b, WorldModel.MaxTokens);
        _w = new Workspace(ops, _acts, _grads);
    }

    public long ParameterCount => _unet.Parameters.Layout.TotalCount + _text.Parameters.Layout.TotalCount;

    private string CheckpointPath => Path.Combine(_stateDir, "checkpoint.safetensors");

    /// <summary>Writes the parts of the model folder that are not weights: tokenizer, scheduler, model_index.json.</summary>
    public static void WriteSkeleton(string folder)
    {
        WorldTokenizer.Write(Path.Combine(folder, "tokenizer"), Captions.Words(), WorldModel.MaxTokens);
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.WriteAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"), WorldModel.SchedulerConfigJson());
        File.WriteAllText(Path.Combine(folder, "model_index.json"), WorldModel.ModelIndexJson());
    }

    /// <summary>Runs until <see cref="PretrainSettings.Steps"/> or cancellation, checkpointing and exporting on the way.</summary>
    public void Train(Action<PretrainStep> onStep, CancellationToken cancel)
    {
        while (Step < _s.Steps && !cancel.IsCancellationRequested)
        {
            onStep(TrainStep());
            if (Step % _s.CheckpointEvery == 0 || Step == _s.Steps) Save();
        }
        if (cancel.IsCancellationRequested) Save();
    }

    public PretrainStep TrainStep()
    {
        int step = Step + 1, b = _s.Batch;
        var rng = new Random(unchecked((int)(_s.Seed * 1_000_003 + (ulong)step)));
        int numel = _renderer.ImageNumel;
        var x0 = _x0.AsSpan();
        var ids = _ids.AsIntSpan();
        var timesteps = new int[b];
        for (int i = 0; i < b; i++)
        {
            var scene = HeldOut.SampleTraining(rng, WorldModel.ImageSize);
            _renderer.Render(scene, x0.Slice(i * numel, numel));
            _tokenizer.Encode(Captions.ForPretraining(scene, rng, _s.StyleCaptionShare), WorldModel.MaxTokens).Ids.CopyTo(ids.Slice(i * WorldModel.MaxTokens, WorldModel.MaxTokens));
            timesteps[i] = rng.Next(_schedule.NumTrainTimesteps);
        }
        _ops.RandomNormal(_noise, _s.Seed + 17, (ulong)step * (ulong)_noise.Numel);
        _schedule.AddNoise(_xt.AsSpan(), x0, _noise.AsSpan(), timesteps);

        _w.Reset();
        var ehs = _text.Forward(_ops, _textActs, _ids);
        var eps = _unet.Forward(_w, _xt, timesteps.Select(t => (float)t).ToArray(), ehs);
        _ops.MseForward(_loss, eps, _noise);
        float loss = _loss.AsSpan()[0];

        _ops.Fill(_unet.Parameters.Grads, 0f);
        _ops.Fill(_text.Parameters.Grads, 0f);
        _ops.MseBackward(_dEps, eps, _noise, 1f);
        _unet.Backward(_w, _dEps, Tensor.None, _dEhs);
        _text.Backward(_ops, _textActs, _ids, _dEhs);

        _ops.SumSquares(_norm, _unet.Parameters.Grads);
        double sq = _norm.AsSpan()[0];
        _ops.SumSquares(_norm, _text.Parameters.Grads);
        sq += _norm.AsSpan()[0];
        float gradNorm = (float)Math.Sqrt(sq);
        float lr = _s.LearningRateAt(step);
        Step = step;
        if (!float.IsFinite(loss) || !float.IsFinite(gradNorm)) return new PretrainStep(step, loss, gradNorm, lr, true);
        if (gradNorm > _s.MaxGradNorm)
        {
            _ops.Scale(_unet.Parameters.Grads, _unet.Parameters.Grads, _s.MaxGradNorm / gradNorm);
            _ops.Scale(_text.Parameters.Grads, _text.Parameters.Grads, _s.MaxGradNorm / gradNorm);
        }
        var adam = new AdamSpec(lr, WeightDecay: _s.WeightDecay);
        _ops.AdamStep(_unet.Parameters.TrainableWeights, _unet.Parameters.Grads, _unetM, _unetV, adam, step);
        _ops.AdamStep(_text.Parameters.TrainableWeights, _text.Parameters.Grads, _textM, _textV, adam, step);

        // EMA with a warm-up of its own: early averages would otherwise be dominated by the random initialization.
        float decay = Math.Min(_s.EmaDecay, (1f + step) / (10f + step));
        foreach (var (ema, live) in new[] { (_emaUnet.Parameters.Weights, _unet.Parameters.Weights), (_emaText.Parameters.Weights, _text.Parameters.Weights) })
        {
            _ops.Scale(ema, ema, decay);
            _ops.Axpy(ema, 1 - decay, live);
        }
        return new PretrainStep(step, loss, gradNorm, lr, false);
    }

    /// <summary>Checkpoint (atomic) and export of the averaged weights as a diffusers folder.</summary>
    public void Save()
    {
        var writer = new SafetensorsWriter();
        writer.Metadata["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        writer.Add("unet.weights", _unet.Parameters.Weights);
        writer.Add("unet.ema", _emaUnet.Parameters.Weights);
        writer.Add("unet.m", _unetM);
        writer.Add("unet.v", _unetV);
        writer.Add("text.weights", _text.Parameters.Weights);
        writer.Add("text.ema", _emaText.Parameters.Weights);
        writer.Add("text.m", _textM);
        writer.Add("text.v", _textV);
        writer.Save(CheckpointPath);
        DiffusersFolder.Save(_outputDir, _emaUnet, _emaText, _skeleton);
    }

    /// <summary>Continues from the checkpoint in the state folder, if there is one; returns whether it did.</summary>
    public bool TryResume()
    {
        if (!File.Exists(CheckpointPath)) return false;
        using var r = SafetensorsReader.Open(CheckpointPath);
        r.ReadF32("unet.weights", _unet.Parameters.Weights);
        r.ReadF32("unet.ema", _emaUnet.Parameters.Weights);
        r.ReadF32("unet.m", _unetM);
        r.ReadF32("unet.v", _unetV);
        r.ReadF32("text.weights", _text.Parameters.Weights);
        r.ReadF32("text.ema", _emaText.Parameters.Weights);
        r.ReadF32("text.m", _textM);
        r.ReadF32("text.v", _textV);
        Step = int.Parse(r.Metadata["step"], System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    public void Dispose()
    {
        _renderer.Dispose();
        _params.Dispose();
        _acts.Dispose();
        _grads.Dispose();
        _state.Dispose();
    }
}
