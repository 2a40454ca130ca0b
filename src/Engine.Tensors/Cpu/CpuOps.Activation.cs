using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void SiluForward(Tensor y, Tensor x) => throw new NotImplementedException("Activation");

    public void SiluBackward(Tensor dx, Tensor dy, Tensor x) => throw new NotImplementedException("Activation");

    public void GeluForward(Tensor y, Tensor x) => throw new NotImplementedException("Activation");

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x) => throw new NotImplementedException("Activation");

    public void QuickGeluForward(Tensor y, Tensor x) => throw new NotImplementedException("Activation");

    public void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x) => throw new NotImplementedException("Activation");

    public void GegluForward(Tensor y, Tensor x) => throw new NotImplementedException("Activation");

    public void GegluBackward(Tensor dx, Tensor dy, Tensor x) => throw new NotImplementedException("Activation");

    public void LeakyReluForward(Tensor y, Tensor x, float slope) => throw new NotImplementedException("Activation");

    public void LeakyReluBackward(Tensor dx, Tensor dy, Tensor x, float slope) => throw new NotImplementedException("Activation");
}
