using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/reduce.cu through the emulator: per-segment Σx, Σx², Σa·b over a flat buffer with an offset table,
/// segments chosen to hit the edges (empty, one element, exactly a chunk, a chunk plus a ragged tail), compared
/// with the CPU twins CpuOps.SegmentSumSquares / SegmentDot / Sum. Both sides cut segments into the same
/// 8192-element chunks and sum each in double, but in a different order inside a chunk (the kernel's thread
/// tree vs the CPU's vector lanes), so the double totals may differ by a few double ulp and the float results
/// by at most one float rounding: the tolerance is 2.4e-7 relative (2 float ulp), far below any real error.
/// </summary>
public class EmulatedReduceTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;
    private static readonly long[] Sizes = [0, 1, 777, ChunkTable.ChunkSize, ChunkTable.ChunkSize + 13, 3];
    private const double Ulps2 = 2.4e-7;

    private static float[] Run(ChunkTable table, nint a, nint b, int mode)
    {
        long[] begin = Of<long>(table.ChunkBegin), end = Of<long>(table.ChunkEnd);
        int[] first = Of<int>(table.SegFirstChunk);
        double[] partial = Zeros<double>(table.Count);
        float[] result = Zeros<float>(table.SegmentCount);
        ReduceKernels.ReduceChunkPartials(Emu, Ptr(partial), a, b, Ptr(begin), Ptr(end), table.Count, mode);
        ReduceKernels.ReduceSegmentCombine(Emu, Ptr(result), Ptr(partial), Ptr(first), table.SegmentCount);
        return result[..table.SegmentCount];
    }

    [SkippableFact]
    public void SegmentSums_MatchCpuOps_AndRepeatBitwise()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var h = new OpHarness();
        var segments = SegmentTable.FromSizes(Sizes);
        var table = new ChunkTable(segments);
        int n = (int)segments.Total;
        double[] a = OpHarness.Randn(n, 11);
        Tensor ta = h.Tensor(a, n), tb = h.Tensor(OpHarness.Randn(n, 12), n);

        // Σx per segment: CpuOps.Sum of each segment as its own tensor (its value depends only on its elements).
        var sum = new float[segments.Count];
        Tensor one = h.Zeros(1);
        for (int s = 0; s < segments.Count; s++)
        {
            int len = (int)(segments.Offsets[s + 1] - segments.Offsets[s]);
            if (len == 0) continue;
            h.Ops.Sum(one, h.Tensor(a[(int)segments.Offsets[s]..(int)segments.Offsets[s + 1]], len));
            sum[s] = one.AsSpan()[0];
        }
        Tensor sumsq = h.Zeros(segments.Count), dot = h.Zeros(segments.Count);
        h.Ops.SegmentSumSquares(sumsq, ta, segments);
        h.Ops.SegmentDot(dot, ta, tb, segments);

        Close.Assert("segment sum", Run(table, ta.Ptr, ta.Ptr, ReduceKernels.ModeSum), sum, rtol: Ulps2, atol: 0);
        Close.Assert("segment sum of squares", Run(table, ta.Ptr, ta.Ptr, ReduceKernels.ModeDot), sumsq.AsSpan(), rtol: Ulps2, atol: 0);
        var d1 = Run(table, ta.Ptr, tb.Ptr, ReduceKernels.ModeDot);
        Close.Assert("segment dot", d1, dot.AsSpan(), rtol: Ulps2, atol: 0);
        Close.Bitwise("segment dot, second run", d1, Run(table, ta.Ptr, tb.Ptr, ReduceKernels.ModeDot));
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
