using Engine.Ops;
using Engine.Tests.Reference;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

/// <summary>CpuOps.GradientSurgery (the CPU twin of kernels/surgery.cu) against the literal double reference.</summary>
public class SurgeryTests
{
    // Odd sizes, a single element, an empty tensor.
    private static readonly long[] Sizes = [13, 77, 1, 300, 0, 7];
    private static readonly int[] Signs = [-1, 1, -1, -1, 1, 1];

    private static (float[] Gu, float[] Stats) RunCpu(int threads, double[] gu, double[] gr, SegmentTable segments, SurgerySpec spec)
    {
        using var h = new OpHarness(threads);
        int n = (int)segments.Total;
        var tu = h.Tensor(gu, n);
        var tr = h.Tensor(gr, n);
        var stats = h.Zeros(segments.Count + 1, 4);
        h.Ops.GradientSurgery(tu, stats, tr, segments, spec);
        Close.Bitwise("g_r is read only", tr.AsSpan(), OpHarness.ToFloat(gr));
        return (tu.AsSpan().ToArray(), stats.AsSpan().ToArray());
    }

    public static TheoryData<SurgeryRule, float, float> Specs => new()
    {
        { SurgeryRule.Official, 1f, 1f },    // HEAD: λ = 1, clip to 1
        { SurgeryRule.Official, 0.5f, 0f },  // λ = 0.5 (older instance/nudity runs), no clipping
        { SurgeryRule.Projection, 1f, 1f },  // spec §7 default
        { SurgeryRule.Projection, 0.5f, 0f },
        { SurgeryRule.Projection, 1f, 1e6f }, // clip threshold far above the norm: scale 1
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void MatchesDoubleReference(SurgeryRule rule, float lambda, float maxNorm)
    {
        var segments = SegmentTable.FromSizes(Sizes);
        var spec = new SurgerySpec(lambda, maxNorm, rule);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, Signs, seed: 3);
        var (refU, refStats) = SurgeryReference.Run(gu, gr, segments.Offsets, spec);
        var (u, stats) = RunCpu(2, gu, gr, segments, spec);
        Close.Assert("g_u", u, refU, rtol: 1e-5, atol: 1e-7);
        Close.Assert("stats", stats, refStats, rtol: 1e-5, atol: 1e-6);
        // The conflicting tensors (and only those; the empty one has cos 0) fired.
        for (int s = 0; s < segments.Count; s++)
            Assert.Equal(Signs[s] < 0 ? 1f : 0f, stats[4 * s + 1]);
        if (maxNorm == 1f) Assert.True(stats[4 * segments.Count + 2] < 1f, "the clip should be active in this test");
    }

    [Fact]
    public void Projection_LambdaOne_LeavesFiredTensorsOrthogonalToRetain()
    {
        var segments = SegmentTable.FromSizes(Sizes);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, Signs, seed: 5);
        var (u, stats) = RunCpu(1, gu, gr, segments, new SurgerySpec(1f, 1f, SurgeryRule.Projection));
        for (int s = 0; s < segments.Count; s++)
        {
            if (stats[4 * s + 1] == 0f) continue;
            double dot = 0, nr = 0;
            for (long i = segments.Offsets[s]; i < segments.Offsets[s + 1]; i++)
            {
                dot += u[i] * gr[i];
                nr += gr[i] * gr[i];
            }
            // Relative to the clipped g_u before the adjustment (stats column 2): only float rounding remains.
            Assert.True(Math.Abs(dot) <= 1e-6 * stats[4 * s + 2] * Math.Sqrt(nr), $"segment {s}: ⟨g_u', g_r⟩ = {dot}");
        }
    }

    [Fact]
    public void Official_OverCorrects_LeavesPositiveRetainComponent()
    {
        // spec §4: HEAD subtracts λ·cos·r̂ (length |cos|), more than the projection when ‖g_u‖ < 1.
        var segments = SegmentTable.FromSizes([50]);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, [-1], seed: 9, scale: 0.01);
        var (u, stats) = RunCpu(1, gu, gr, segments, new SurgerySpec(1f, 1f, SurgeryRule.Official));
        Assert.Equal(1f, stats[1]);
        double dot = 0;
        for (int i = 0; i < 50; i++) dot += u[i] * gr[i];
        Assert.True(dot > 0, $"⟨g_u', g_r⟩ = {dot}, expected > 0");
    }

    [Theory]
    [InlineData(SurgeryRule.Official)]
    [InlineData(SurgeryRule.Projection)]
    public void ZeroRetainGradient_NoNaN_NeverFires(SurgeryRule rule)
    {
        var segments = SegmentTable.FromSizes(Sizes);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, Signs, seed: 7, zeroRetain: 0);
        var spec = new SurgerySpec(1f, 1f, rule);
        var (u, stats) = RunCpu(1, gu, gr, segments, spec);
        Assert.All(u, v => Assert.True(float.IsFinite(v)));
        Assert.All(stats, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0f, stats[0]); // cos of the zero-retain tensor
        Assert.Equal(0f, stats[1]); // not fired
        float su = stats[4 * segments.Count + 2];
        for (int i = 0; i < 13; i++) Assert.Equal((float)gu[i] * su, u[i]); // only the clip scale applied
        var (refU, _) = SurgeryReference.Run(gu, gr, segments.Offsets, spec);
        Close.Assert("g_u", u, refU, rtol: 1e-5, atol: 1e-7);
    }

    [Fact]
    public void AllZero_NoNaN()
    {
        var segments = SegmentTable.FromSizes([5, 3]);
        var (u, stats) = RunCpu(1, new double[8], new double[8], segments, new SurgerySpec());
        Assert.All(u, v => Assert.Equal(0f, v));
        Assert.All(stats[..^2], v => Assert.Equal(0f, v));
        Assert.Equal([1f, 1f], stats[^2..]); // no clipping of zero gradients
    }

    [Fact]
    public void Deterministic_AcrossThreadCounts()
    {
        var segments = SegmentTable.FromSizes([4099, 13, 2048, 1, 77]);
        var (gu, gr) = SurgeryReference.Gradients(segments.Offsets, [-1, 1, -1, 1, -1], seed: 13);
        var spec = new SurgerySpec(1f, 1f, SurgeryRule.Official);
        var (u1, s1) = RunCpu(1, gu, gr, segments, spec);
        var (u3, s3) = RunCpu(3, gu, gr, segments, spec);
        Close.Bitwise("g_u", u1, u3);
        Close.Bitwise("stats", s1, s3);
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness(1);
        var segments = SegmentTable.FromSizes([3, 4]);
        var spec = new SurgerySpec();
        Assert.Throws<ArgumentException>(() => h.Ops.GradientSurgery(h.Zeros(6), h.Zeros(3, 4), h.Zeros(6), segments, spec));
        Assert.Throws<ArgumentException>(() => h.Ops.GradientSurgery(h.Zeros(7), h.Zeros(3, 4), h.Zeros(6), segments, spec));
        Assert.Throws<ArgumentException>(() => h.Ops.GradientSurgery(h.Zeros(7), h.Zeros(2, 4), h.Zeros(7), segments, spec));
    }
}
