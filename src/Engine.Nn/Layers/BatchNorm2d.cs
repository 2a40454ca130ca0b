using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn.Layers;

/// <summary>
/// nn.BatchNorm2d: affine weight and bias [C] are parameters; running_mean and running_var are buffers
/// (allocated here, saved with checkpoints, never trained).
/// </summary>
public sealed class BatchNorm2d
{
    public readonly Tensor Weight, Bias, dWeight, dBias, RunningMean, RunningVar;
    public readonly float Momentum, Eps;
    private readonly ITensorAllocator _buffers;

    public BatchNorm2d(ParameterStore store, string name, ITensorAllocator buffers, float momentum = 0.1f, float eps = 1e-5f)
    {
        Weight = store.Weight(name + ".weight");
        Bias = store.Weight(name + ".bias");
        dWeight = store.Grad(name + ".weight");
        dBias = store.Grad(name + ".bias");
        _buffers = buffers;
        RunningMean = buffers.Alloc(Weight.Shape);
        RunningVar = buffers.Alloc(Weight.Shape);
        Momentum = momentum;
        Eps = eps;
        ResetRunningStats();
    }

    public static void Declare(List<(string, Shape)> into, string name, int c) => LayerNorm.Declare(into, name, c);

    /// <summary>PyTorch's initial state: mean 0, variance 1.</summary>
    public void ResetRunningStats()
    {
        int c = checked((int)RunningMean.Numel);
        _buffers.Write<float>(RunningMean, new float[c]);
        var ones = new float[c];
        Array.Fill(ones, 1f);
        _buffers.Write<float>(RunningVar, ones);
    }

    /// <summary>mean and rstd [C] are saved for the backward; training mode also updates the running statistics.</summary>
    public void Forward(IOps ops, Tensor y, Tensor mean, Tensor rstd, Tensor x, bool training) =>
        ops.BatchNormForward(y, mean, rstd, RunningMean, RunningVar, x, Weight, Bias, training, Momentum, Eps);

    public void Backward(IOps ops, Tensor dx, Tensor dy, Tensor x, Tensor mean, Tensor rstd) =>
        ops.BatchNormBackward(dx, dWeight, dBias, dy, x, mean, rstd, Weight);
}
