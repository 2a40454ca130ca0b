using Engine.Memory;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public ITensorArena CreateArena(long blockSize = 64L << 20) => new NativeArena(blockSize);

    public void Synchronize()
    {
    }
}
