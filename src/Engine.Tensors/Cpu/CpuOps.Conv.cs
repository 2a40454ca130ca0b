using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec) => throw new NotImplementedException("Conv");

    public void Conv2dBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, in Conv2dSpec spec) => throw new NotImplementedException("Conv");
}
