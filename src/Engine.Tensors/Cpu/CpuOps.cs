using Engine.Ops;
using Engine.Ops.Profiling;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// The CPU backend: TensorPrimitives for element-wise work, a blocked SIMD SGEMM, Parallel.For over
/// rows and batches. Each op family lives in its own partial file (CpuOps.Gemm.cs, CpuOps.Conv.cs, ...).
/// </summary>
public sealed partial class CpuOps : IOps, IPhaseTimer
{
    public CpuOps(int threads = 0)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        Workers = new ParallelOptions { MaxDegreeOfParallelism = Threads };
    }

    public Device Device => Device.Cpu;

    public string Name => $"cpu ({Threads} threads)";

    /// <summary>Worker threads; results never depend on it (work is split into fixed-size chunks).</summary>
    public int Threads { get; }

    internal ParallelOptions Workers { get; }
}
