using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void RandomNormal(Tensor y, ulong seed, ulong offset) => throw new NotImplementedException("Random");

    public void RandomUniform(Tensor y, ulong seed, ulong offset) => throw new NotImplementedException("Random");
}
