using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tests.Reference;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>kernels/surgery.cu (all three launches) through the emulator, against its CPU twin CpuOps.GradientSurgery.</summary>
public class EmulatedSurgeryTests
{
    // A tensor longer than one chunk (several chunks per segment), odd sizes, one element, an empty tensor.
    private static readonly long[] Sizes = [ChunkTable.ChunkSize + 100, 13, 0, 1, 500];
    private static readonly int[] Signs = [-1, 1, 1, -1, -1];

    [SkippableTheory]
    [InlineData(SurgeryRule.Official, 1f, 1f, -1)]
    [InlineData(SurgeryRule.Projection, 1f, 1f, -1)]
    [InlineData(SurgeryRule.Projection, 0.5f, 0f, 4)] // no clipping; the last tensor's retain gradient is zero
    [InlineData(SurgeryRule.Official, 1f, 1f, 0)]
    public void MatchesCpuTwin(SurgeryRule rule, float lambda, float maxNorm, int zeroRetain)
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        var segments = SegmentTable.FromSizes(Sizes);
        var table = new ChunkTable(segments);
        var spec = new SurgerySpec(lambda, maxNorm, rule);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, Signs, seed: 17, zeroRetain: zeroRetain);
        int n = (int)segments.Total, nseg = segments.Count;

        // CPU twin.
        using var h = new OpHarness(2);
        var tu = h.Tensor(gu, n);
        var cpuStats = h.Zeros(nseg + 1, 4);
        h.Ops.GradientSurgery(tu, cpuStats, h.Tensor(gr, n), segments, spec);

        // Kernels.
        float[] u = Floats(gu), r = Floats(gr), stats = Zeros<float>(4 * (nseg + 1)), coef = Zeros<float>(2 * nseg);
        long[] begin = Of<long>(table.ChunkBegin), end = Of<long>(table.ChunkEnd);
        int[] first = Of<int>(table.SegFirstChunk), segOf = Of<int>(table.ChunkSegment);
        double[] partial = Zeros<double>(3 * table.Count);
        SurgeryKernels.Run(KernelEmulator.Instance, Ptr(u), Ptr(r), Ptr(stats), spec, table,
                           Ptr(begin), Ptr(end), Ptr(first), Ptr(segOf), Ptr(partial), Ptr(coef));

        Close.Assert("g_u", u.AsSpan(0, n), tu.AsSpan(), rtol: 1e-5, atol: 1e-7);
        Close.Assert("stats", stats, cpuStats.AsSpan(), rtol: 1e-5, atol: 1e-6);
        var fired = Enumerable.Range(0, nseg).Select(s => stats[4 * s + 1]).ToArray();
        var cpuFired = Enumerable.Range(0, nseg).Select(s => cpuStats.AsSpan()[4 * s + 1]).ToArray();
        Assert.Equal(cpuFired, fired);
        Assert.All(u, v => Assert.True(float.IsFinite(v)));
    }
}
