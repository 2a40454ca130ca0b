using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamSpec spec, int step)
    {
        Check.Numel(grad, param.Numel, nameof(grad));
        Check.Numel(m, param.Numel, nameof(m));
        Check.Numel(v, param.Numel, nameof(v));
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "Adam steps are 1-based");
        AdamwKernels.AdamwStep(_k, F(param, nameof(param)), F(grad, nameof(grad)), F(m, nameof(m)), F(v, nameof(v)), param.Numel, spec, step);
    }

    public void RandomNormal(Tensor y, ulong seed, ulong offset) => PhiloxKernels.Normal(_k, F(y, nameof(y)), y.Numel, seed, offset);

    public void RandomUniform(Tensor y, ulong seed, ulong offset) => PhiloxKernels.Uniform(_k, F(y, nameof(y)), y.Numel, seed, offset);
}
