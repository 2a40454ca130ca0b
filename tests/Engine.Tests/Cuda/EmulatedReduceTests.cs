using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/reduce.cu through the emulator: per-segment Σx, Σx², Σa·b over a flat buffer with an offset table,
/// segments chosen to hit the edges (empty, one element, exactly a chunk, a chunk plus a ragged tail).
/// TODO(lead): compare with CpuOps.SegmentSumSquares / SegmentDot once the Reduce family is merged.
/// </summary>
public class EmulatedReduceTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;
    private static readonly long[] Sizes = [0, 1, 777, ChunkTable.ChunkSize, ChunkTable.ChunkSize + 13, 3];

    private static float[] Run(ChunkTable table, float[] a, float[] b, int mode)
    {
        long[] begin = Of<long>(table.ChunkBegin), end = Of<long>(table.ChunkEnd);
        int[] first = Of<int>(table.SegFirstChunk);
        double[] partial = Zeros<double>(table.Count);
        float[] result = Zeros<float>(table.SegmentCount);
        ReduceKernels.ReduceChunkPartials(Emu, Ptr(partial), Ptr(a), Ptr(b), Ptr(begin), Ptr(end), table.Count, mode);
        ReduceKernels.ReduceSegmentCombine(Emu, Ptr(result), Ptr(partial), Ptr(first), table.SegmentCount);
        return result[..table.SegmentCount];
    }

    [SkippableFact]
    public void SegmentSums_MatchDoubleReference_AndRepeatBitwise()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        var segments = SegmentTable.FromSizes(Sizes);
        var table = new ChunkTable(segments);
        int n = (int)segments.Total;
        double[] a = OpHarness.Randn(n, 11), b = OpHarness.Randn(n, 12);
        float[] fa = Floats(a), fb = Floats(b);

        var sum = new double[segments.Count];
        var sumsq = new double[segments.Count];
        var dot = new double[segments.Count];
        for (int s = 0; s < segments.Count; s++)
            for (long i = segments.Offsets[s]; i < segments.Offsets[s + 1]; i++)
            {
                sum[s] += a[i];
                sumsq[s] += a[i] * a[i];
                dot[s] += a[i] * b[i];
            }

        Close.Assert("segment sum", Run(table, fa, fa, ReduceKernels.ModeSum), sum, rtol: 1e-6, atol: 1e-5);
        Close.Assert("segment sum of squares", Run(table, fa, fa, ReduceKernels.ModeDot), sumsq, rtol: 1e-6, atol: 1e-6);
        var d1 = Run(table, fa, fb, ReduceKernels.ModeDot);
        Close.Assert("segment dot", d1, dot, rtol: 1e-6, atol: 1e-5);
        Close.Bitwise("segment dot, second run", d1, Run(table, fa, fb, ReduceKernels.ModeDot));
    }

    [Fact]
    public void ChunkTable_NeverCrossesSegments()
    {
        var table = new ChunkTable(SegmentTable.FromSizes(Sizes), chunkSize: 100);
        Assert.Equal(table.SegmentCount + 1, table.SegFirstChunk.Length);
        Assert.Equal(0, table.SegFirstChunk[1] - table.SegFirstChunk[0]); // the empty segment owns no chunk
        for (int k = 0; k < table.Count; k++)
        {
            var offsets = SegmentTable.FromSizes(Sizes).Offsets;
            int s = table.ChunkSegment[k];
            Assert.InRange(table.ChunkBegin[k], offsets[s], offsets[s + 1] - 1);
            Assert.InRange(table.ChunkEnd[k], table.ChunkBegin[k] + 1, Math.Min(offsets[s + 1], table.ChunkBegin[k] + 100));
        }
    }
}
