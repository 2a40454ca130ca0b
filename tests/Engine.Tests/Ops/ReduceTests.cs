using Engine.Ops;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class ReduceTests
{
    private static double SumOf(double[] x, Func<double, double> f) => x.Sum(f);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(77)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(50_001)]
    public void SumSumSquaresDot_MatchDoubleSums(int n)
    {
        using var h = new OpHarness();
        var a = OpHarness.Randn(n, 1);
        var b = OpHarness.Randn(n, 2);
        var r = h.Zeros(1);
        h.Ops.Sum(r, h.Tensor(a, n));
        Close.Assert("sum", r.AsSpan(), [a.Sum()], 1e-6, 1e-6);
        h.Ops.SumSquares(r, h.Tensor(a, n));
        Close.Assert("sum of squares", r.AsSpan(), [SumOf(a, v => v * v)], 1e-6, 1e-6);
        h.Ops.Dot(r, h.Tensor(a, n), h.Tensor(b, n));
        Close.Assert("dot", r.AsSpan(), [a.Zip(b, (p, q) => p * q).Sum()], 1e-6, 1e-6);
    }

    private static readonly long[] SegmentSizes = [0, 1, 3, 0, 8192, 8193, 20_000, 7, 16, 0, 100_000, 5];

    [Fact]
    public void Segments_EmptyTinyLarge_MatchDoubleSums()
    {
        using var h = new OpHarness();
        var table = SegmentTable.FromSizes(SegmentSizes);
        int n = (int)table.Total;
        var a = OpHarness.Randn(n, 3);
        var b = OpHarness.Randn(n, 4);
        var sq = h.Zeros(table.Count);
        var dot = h.Zeros(table.Count);
        h.Ops.SegmentSumSquares(sq, h.Tensor(a, n), table);
        h.Ops.SegmentDot(dot, h.Tensor(a, n), h.Tensor(b, n), table);
        var esq = new double[table.Count];
        var edot = new double[table.Count];
        for (int s = 0; s < table.Count; s++)
            for (long i = table.Offsets[s]; i < table.Offsets[s + 1]; i++)
            {
                esq[s] += a[i] * a[i];
                edot[s] += a[i] * b[i];
            }
        Close.Assert("segment sum of squares", sq.AsSpan(), esq, 1e-6, 1e-7);
        Close.Assert("segment dot", dot.AsSpan(), edot, 1e-6, 1e-7);
        Assert.Equal(0f, sq.AsSpan()[0]);
        Assert.Equal(0f, dot.AsSpan()[3]);
    }

    /// <summary>Results of every reduction over the same data, with the given thread count.</summary>
    private static float[] AllReductions(int threads, double[] a, double[] b, SegmentTable table)
    {
        using var h = new OpHarness(threads);
        int n = a.Length;
        var ta = h.Tensor(a, n);
        var tb = h.Tensor(b, n);
        var r = h.Zeros(3);
        h.Ops.Sum(r.Slice(0, 1), ta);
        h.Ops.SumSquares(r.Slice(1, 1), ta);
        h.Ops.Dot(r.Slice(2, 1), ta, tb);
        var sq = h.Zeros(table.Count);
        var dot = h.Zeros(table.Count);
        h.Ops.SegmentSumSquares(sq, ta, table);
        h.Ops.SegmentDot(dot, ta, tb, table);
        return [.. r.AsSpan(), .. sq.AsSpan(), .. dot.AsSpan()];
    }

    [Fact]
    public void Reductions_BitwiseAcrossThreadCounts()
    {
        var table = SegmentTable.FromSizes(SegmentSizes);
        int n = (int)table.Total;
        var a = OpHarness.Randn(n, 5);
        var b = OpHarness.Randn(n, 6);
        var one = AllReductions(1, a, b, table);
        Close.Bitwise("1 vs 3 threads", one, AllReductions(3, a, b, table));
        Close.Bitwise("1 vs 2 threads", one, AllReductions(2, a, b, table));
    }

    [Fact]
    public void Segment_DependsOnlyOnItsOwnElements()
    {
        // A segment's value is the same bits whatever the split of the rest of the buffer and wherever it
        // sits: SegmentSumSquares of a segment equals SumSquares of a copy of that segment.
        using var h = new OpHarness(3);
        var splitA = SegmentTable.FromSizes([3, 20_000, 9, 40_000, 1]);
        var splitB = SegmentTable.FromSizes([3, 20_000, 9, 10_000, 30_000, 1]);
        int n = (int)splitA.Total;
        var a = OpHarness.Randn(n, 7);
        var b = OpHarness.Randn(n, 8);
        var ta = h.Tensor(a, n);
        var tb = h.Tensor(b, n);
        var ra = h.Zeros(splitA.Count);
        var rb = h.Zeros(splitB.Count);
        h.Ops.SegmentSumSquares(ra, ta, splitA);
        h.Ops.SegmentSumSquares(rb, ta, splitB);
        Close.Bitwise("first three segments under two splits", ra.AsSpan()[..3], rb.AsSpan()[..3]);
        Close.Bitwise("last segment under two splits", ra.AsSpan()[^1..], rb.AsSpan()[^1..]);

        var seg = h.Tensor(a.AsSpan(3, 20_000).ToArray(), 20_000);
        var alone = h.Zeros(1);
        h.Ops.SumSquares(alone, seg);
        Close.Bitwise("segment vs standalone tensor", ra.AsSpan().Slice(1, 1), alone.AsSpan());

        var dots = h.Zeros(splitB.Count);
        h.Ops.SegmentDot(dots, ta, tb, splitB);
        h.Ops.Dot(alone, h.Tensor(a.AsSpan(20_012, 10_000).ToArray(), 10_000), h.Tensor(b.AsSpan(20_012, 10_000).ToArray(), 10_000));
        Close.Bitwise("segment dot vs standalone dot", dots.AsSpan().Slice(3, 1), alone.AsSpan());
    }

    [Fact]
    public void ManyTinySegments()
    {
        using var h = new OpHarness(2);
        var sizes = Enumerable.Range(0, 3000).Select(i => (long)(i % 5)).ToArray();
        var table = SegmentTable.FromSizes(sizes);
        int n = (int)table.Total;
        var a = OpHarness.Randn(n, 9);
        var r = h.Zeros(table.Count);
        h.Ops.SegmentSumSquares(r, h.Tensor(a, n), table);
        var e = new double[table.Count];
        for (int s = 0; s < table.Count; s++)
            for (long i = table.Offsets[s]; i < table.Offsets[s + 1]; i++) e[s] += a[i] * a[i];
        Close.Assert("3000 tiny segments", r.AsSpan(), e, 1e-6, 1e-7);
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        var x = h.Zeros(10);
        var table = SegmentTable.FromSizes([4, 6]);
        Assert.Throws<ArgumentException>(() => h.Ops.Sum(h.Zeros(2), x));
        Assert.Throws<ArgumentException>(() => h.Ops.Dot(h.Zeros(1), x, h.Zeros(9)));
        Assert.Throws<ArgumentException>(() => h.Ops.SegmentSumSquares(h.Zeros(3), x, table));
        Assert.Throws<ArgumentException>(() => h.Ops.SegmentSumSquares(h.Zeros(2), h.Zeros(11), table));
        Assert.Throws<ArgumentException>(() => h.Ops.SegmentDot(h.Zeros(2), x, h.Zeros(2, 5), table));
        Assert.Throws<ArgumentException>(() => new SegmentTable([0, 5, 3]));
    }
}
