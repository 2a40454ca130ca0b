using Engine.Memory;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public ITensorArena CreateArena(long blockSize = 64L << 20) => new DeviceArena(_memory, blockSize);
}
