using Engine.Rng;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    // Elements per parallel work item. The values never depend on it (element i is a function of
    // seed and offset + i only); it only sets the granularity of the work split.
    private const int RandomChunk = 16384;

    public void RandomNormal(Tensor y, ulong seed, ulong offset)
    {
        Flat.CheckF32(y, nameof(y));
        long n = y.Numel;
        nint ptr = y.Ptr;
        Parallel.For(0, Flat.Count(n, RandomChunk), Workers, c =>
        {
            long start = c * (long)RandomChunk;
            int len = (int)Math.Min(RandomChunk, n - start);
            Philox.FillNormal(Flat.Span(ptr, start, len), seed, offset + (ulong)start);
        });
    }

    public void RandomUniform(Tensor y, ulong seed, ulong offset)
    {
        Flat.CheckF32(y, nameof(y));
        long n = y.Numel;
        nint ptr = y.Ptr;
        Parallel.For(0, Flat.Count(n, RandomChunk), Workers, c =>
        {
            long start = c * (long)RandomChunk;
            int len = (int)Math.Min(RandomChunk, n - start);
            Philox.FillUniform(Flat.Span(ptr, start, len), seed, offset + (ulong)start);
        });
    }
}
