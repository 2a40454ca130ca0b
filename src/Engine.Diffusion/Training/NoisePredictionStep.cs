using System.Diagnostics;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Diffusion.Training;

/// <summary>Wall time of one <see cref="NoisePredictionStep"/>'s phases, in seconds.</summary>
public readonly record struct StepPhases(double Text, double Forward, double Backward, double TextBackward)
{
    public double Total => Text + Forward + Backward + TextBackward;
}

/// <summary>
/// One training step of a text-to-image denoiser on the ε-prediction loss, as the benchmarks time it: the text
/// encoder's forward, the UNet's forward and MSE against the noise, the UNet's backward, and the text encoder's
/// backward when it trains. Inputs and buffers are allocated once in the backend's memory; on a GPU each phase ends
/// with a synchronize, so its wall time is its device time.
/// </summary>
public sealed class NoisePredictionStep
{
    private readonly IOps _ops;
    private readonly ClipTextModel _text;
    private readonly UNet2DConditionModel _unet;
    private readonly ClipActivations _textActs;
    private readonly Workspace _w;
    private readonly Tensor _ids, _latents, _noise, _dEps, _dEhs, _loss;
    private readonly float[] _timesteps;

    /// <param name="memory">inputs, text activations and the loss live here; <paramref name="w"/> holds the UNet's activations and gradients</param>
    public NoisePredictionStep(IOps ops, ClipTextModel text, UNet2DConditionModel unet, Engine.Memory.ITensorArena memory, Workspace w,
        int batch, int size, ulong seed = 3)
    {
        _ops = ops;
        _text = text;
        _unet = unet;
        _w = w;
        int len = text.Config.MaxPositionEmbeddings;
        _ids = memory.Alloc(new Shape(batch, len), DType.I32);
        _textActs = text.Activations(memory, batch, len);
        _latents = memory.Alloc(new Shape(batch, unet.Config.InChannels, size, size));
        _noise = memory.Alloc(_latents.Shape);
        _dEps = memory.Alloc(_latents.Shape);
        _dEhs = memory.Alloc(new Shape(batch, len, text.Config.HiddenSize));
        _loss = memory.Alloc(new Shape(1));
        ops.RandomNormal(_latents, seed, 0);
        ops.RandomNormal(_noise, seed + 1, 0);
        _timesteps = [.. Enumerable.Range(0, batch).Select(i => 100f + 400f * i)];
    }

    public Tensor Latents => _latents;

    public StepPhases Run()
    {
        var ops = _ops;
        _w.Reset();
        ops.Synchronize();
        var clock = Stopwatch.StartNew();
        var ehs = _text.Forward(ops, _textActs, _ids);
        ops.Synchronize();
        double text = clock.Elapsed.TotalSeconds;
        var eps = _unet.Forward(_w, _latents, _timesteps, ehs);
        ops.MseForward(_loss, eps, _noise);
        ops.Synchronize();
        double forward = clock.Elapsed.TotalSeconds - text;
        if (!_unet.Parameters.Grads.IsNone) ops.Fill(_unet.Parameters.Grads, 0f);
        ops.MseBackward(_dEps, eps, _noise, 1f);
        bool textTrains = !_text.Parameters.Grads.IsNone;
        _unet.Backward(_w, _dEps, Tensor.None, textTrains ? _dEhs : Tensor.None);
        ops.Synchronize();
        double backward = clock.Elapsed.TotalSeconds - text - forward;
        if (textTrains)
        {
            ops.Fill(_text.Parameters.Grads, 0f);
            _text.Backward(ops, _textActs, _ids, _dEhs);
            ops.Synchronize();
        }
        double textBackward = clock.Elapsed.TotalSeconds - text - forward - backward;
        return new StepPhases(text, forward, backward, textBackward);
    }
}
