using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamSpec spec, int step) => throw new NotImplementedException("Optim");
}
