using Engine.Diffusion;
using Engine.Diffusion.Schedulers;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Loading;
using Engine.Models.Text;
using Engine.Models.Unet;
using Engine.Nn;
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
    // The backend's memory: weights, activations, activation gradients, and the run state (moments, step buffers).
    private readonly ITensorArena _params, _acts, _grads, _state;
    private readonly IOps _ops;
    private readonly PretrainSettings _s;
    private readonly string _stateDir, _outputDir, _skeleton;
    private readonly UNet2DConditionModel _unet, _emaUnet;
    private readonly ClipTextModel _text, _emaText;
    private readonly ClipTokenizer _tokenizer;
    private readonly WorldRenderer _renderer;
    private readonly NoiseSchedule _schedule;
    private readonly ClipActivations _textActs;
    private readonly Workspace _w;
    // Adam moments, one pair per model; the step's buffers, allocated once.
    private readonly Tensor _unetM, _unetV, _textM, _textV;
    private readonly Tensor _x0, _noise, _xt, _ids, _dEps, _dEhs, _loss, _norm;
    // The host side of the step: the rendered batch and its captions before their upload, the timesteps, one read-out.
    private readonly float[] _hostX0, _timesteps, _scalar = new float[1];
    private readonly int[] _hostIds;

    public int Step { get; private set; }

    public WorldPretrainer(IOps ops, PretrainSettings settings, string stateDir, string outputDir)
        : this(ops, settings, stateDir, outputDir, WorldModel.UNet, WorldModel.TextEncoder)
    {
    }

    /// <summary>
    /// Another architecture of the same kind: the images are <paramref name="unet"/>'s sample size, the text encoder is
    /// <paramref name="textEncoder"/> of the vocabulary size. For tests on a backend too slow for the real model.
    /// </summary>
    internal WorldPretrainer(IOps ops, PretrainSettings settings, string stateDir, string outputDir, UNetConfig unet, Func<int, ClipTextConfig> textEncoder)
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
        _renderer = new WorldRenderer(unet.SampleSize);
        (_params, _acts, _grads, _state) = (ops.CreateArena(), ops.CreateArena(), ops.CreateArena(), ops.CreateArena());

        _unet = new UNet2DConditionModel(unet, _params, _ => true);
        _text = new ClipTextModel(textEncoder(vocab), _params, _ => true);
        _emaUnet = new UNet2DConditionModel(unet, _params);
        _emaText = new ClipTextModel(textEncoder(vocab), _params);
        WorldModel.Initialize(ops, _unet.Parameters, settings.Seed);
        WorldModel.Initialize(ops, _text.Parameters, settings.Seed + 1);
        ops.Copy(_emaUnet.Parameters.Weights, _unet.Parameters.Weights);
        ops.Copy(_emaText.Parameters.Weights, _text.Parameters.Weights);

        _unetM = _state.Alloc(_unet.Parameters.Grads.Shape, zero: true);
        _unetV = _state.Alloc(_unet.Parameters.Grads.Shape, zero: true);
        _textM = _state.Alloc(_text.Parameters.Grads.Shape, zero: true);
        _textV = _state.Alloc(_text.Parameters.Grads.Shape, zero: true);

        int b = settings.Batch, n = _renderer.Size;
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
        _hostX0 = new float[image.Numel];
        _hostIds = new int[b * WorldModel.MaxTokens];
        _timesteps = new float[b];
        _w = new Workspace(ops, _acts, _grads);
    }

    public long ParameterCount => _unet.Parameters.Layout.TotalCount + _text.Parameters.Layout.TotalCount;

    internal ParameterStore UnetParameters => _unet.Parameters;

    internal ParameterStore TextParameters => _text.Parameters;

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
        int step = Step + 1, b = _s.Batch, len = WorldModel.MaxTokens;
        var rng = new Random(unchecked((int)(_s.Seed * 1_000_003 + (ulong)step)));
        int numel = _renderer.ImageNumel;
        for (int i = 0; i < b; i++)
        {
            var scene = HeldOut.SampleTraining(rng, _renderer.Size);
            _renderer.Render(scene, _hostX0.AsSpan(i * numel, numel));
            _tokenizer.Encode(Captions.ForPretraining(scene, rng, _s.StyleCaptionShare), len).Ids.CopyTo(_hostIds.AsSpan(i * len, len));
            _timesteps[i] = rng.Next(_schedule.NumTrainTimesteps);
        }
        _state.Write<float>(_x0, _hostX0);
        _state.Write<int>(_ids, _hostIds);
        _ops.RandomNormal(_noise, _s.Seed + 17, (ulong)step * (ulong)_noise.Numel);
        AddNoise();

        _w.Reset();
        var ehs = _text.Forward(_ops, _textActs, _ids);
        var eps = _unet.Forward(_w, _xt, _timesteps, ehs);
        _ops.MseForward(_loss, eps, _noise);
        float loss = ReadScalar(_loss);

        _ops.Fill(_unet.Parameters.Grads, 0f);
        _ops.Fill(_text.Parameters.Grads, 0f);
        _ops.MseBackward(_dEps, eps, _noise, 1f);
        _unet.Backward(_w, _dEps, Tensor.None, _dEhs);
        _text.Backward(_ops, _textActs, _ids, _dEhs);

        _ops.SumSquares(_norm, _unet.Parameters.Grads);
        double sq = ReadScalar(_norm);
        _ops.SumSquares(_norm, _text.Parameters.Grads);
        sq += ReadScalar(_norm);
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
        Average(_emaUnet.Parameters.Weights, _unet.Parameters.Weights, decay);
        Average(_emaText.Parameters.Weights, _text.Parameters.Weights, decay);
        return new PretrainStep(step, loss, gradNorm, lr, false);
    }

    private void Average(Tensor ema, Tensor live, float decay)
    {
        _ops.Scale(ema, ema, decay);
        _ops.Axpy(ema, 1 - decay, live);
    }

    /// <summary>x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε per sample, rounded as <see cref="NoiseSchedule.AddNoise"/> rounds it on the host.</summary>
    private void AddNoise() => Noising.AddNoise(_ops, _schedule, _xt, _x0, _noise, _timesteps);

    private float ReadScalar(Tensor t)
    {
        _ops.CopyToHost(_scalar, t);
        return _scalar[0];
    }

    /// <summary>Checkpoint (atomic) and export of the averaged weights as a diffusers folder.</summary>
    public void Save()
    {
        var writer = new SafetensorsWriter();
        writer.Metadata["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        writer.Add("unet.weights", _unet.Parameters.Weights, _unet.Parameters.Memory);
        writer.Add("unet.ema", _emaUnet.Parameters.Weights, _emaUnet.Parameters.Memory);
        writer.Add("unet.m", _unetM, _state);
        writer.Add("unet.v", _unetV, _state);
        writer.Add("text.weights", _text.Parameters.Weights, _text.Parameters.Memory);
        writer.Add("text.ema", _emaText.Parameters.Weights, _emaText.Parameters.Memory);
        writer.Add("text.m", _textM, _state);
        writer.Add("text.v", _textV, _state);
        writer.Save(CheckpointPath);
        DiffusersFolder.Save(_outputDir, _emaUnet, _emaText, _skeleton);
    }

    /// <summary>Continues from the checkpoint in the state folder, if there is one; returns whether it did.</summary>
    public bool TryResume()
    {
        if (!File.Exists(CheckpointPath)) return false;
        using var r = SafetensorsReader.Open(CheckpointPath);
        r.ReadF32("unet.weights", _unet.Parameters.Weights, _unet.Parameters.Memory);
        r.ReadF32("unet.ema", _emaUnet.Parameters.Weights, _emaUnet.Parameters.Memory);
        r.ReadF32("unet.m", _unetM, _state);
        r.ReadF32("unet.v", _unetV, _state);
        r.ReadF32("text.weights", _text.Parameters.Weights, _text.Parameters.Memory);
        r.ReadF32("text.ema", _emaText.Parameters.Weights, _emaText.Parameters.Memory);
        r.ReadF32("text.m", _textM, _state);
        r.ReadF32("text.v", _textV, _state);
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
