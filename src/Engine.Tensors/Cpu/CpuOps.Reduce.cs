using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Deterministic reductions. Every segment (a whole tensor is one segment) is cut into chunks of
/// <see cref="Flat.ReduceChunk"/> elements counted from the segment's own start; each chunk is summed in
/// double by <see cref="Flat"/>; a segment's chunk partials are added in order and rounded to float once.
/// The value of a segment therefore depends only on its own elements: not on the thread count, not on
/// where the segment sits in the flat buffer, not on the other segments (SegmentSumSquares of a
/// segment equals SumSquares of that segment as its own tensor, bit for bit).
/// All chunks of all segments form one work list, so a buffer of 200 tiny tensors and one of a single
/// 20M-float tensor both spread over every worker.
/// </summary>
public sealed partial class CpuOps
{
    private enum ReduceKind { Sum, SumSquares, Dot, SquaredDiff, BceWithLogits }

    // Work list and partials, grown once and kept, so a reduction allocates no arrays.
    private int[] _reduceItemSegment = [];
    private long[] _reduceItemStart = [];
    private int[] _reduceItemLength = [];
    private double[] _reducePartial = [];

    public void Sum(Tensor result, Tensor x)
    {
        Flat.CheckF32(x, nameof(x));
        CheckResult(result, 1);
        Span<long> whole = [0, x.Numel];
        Reduce(result, x, Tensor.None, whole, ReduceKind.Sum, 1.0);
    }

    public void SumSquares(Tensor result, Tensor x)
    {
        Flat.CheckF32(x, nameof(x));
        CheckResult(result, 1);
        Span<long> whole = [0, x.Numel];
        Reduce(result, x, Tensor.None, whole, ReduceKind.SumSquares, 1.0);
    }

    public void Dot(Tensor result, Tensor a, Tensor b)
    {
        Flat.CheckF32(a, nameof(a));
        Flat.CheckF32(b, nameof(b));
        Check.SameShape(a, b, nameof(a), nameof(b));
        CheckResult(result, 1);
        Span<long> whole = [0, a.Numel];
        Reduce(result, a, b, whole, ReduceKind.Dot, 1.0);
    }

    public void SegmentSumSquares(Tensor result, Tensor x, SegmentTable segments)
    {
        Flat.CheckF32(x, nameof(x));
        CheckSegments(x, segments, nameof(x));
        CheckResult(result, segments.Count);
        Reduce(result, x, Tensor.None, segments.Offsets, ReduceKind.SumSquares, 1.0);
    }

    public void SegmentDot(Tensor result, Tensor a, Tensor b, SegmentTable segments)
    {
        Flat.CheckF32(a, nameof(a));
        Flat.CheckF32(b, nameof(b));
        Check.SameShape(a, b, nameof(a), nameof(b));
        CheckSegments(a, segments, nameof(a));
        CheckResult(result, segments.Count);
        Reduce(result, a, b, segments.Offsets, ReduceKind.Dot, 1.0);
    }

    private static void CheckResult(Tensor result, int count)
    {
        Flat.CheckF32(result, nameof(result));
        Check.Numel(result, count, nameof(result));
    }

    private static void CheckSegments(Tensor x, SegmentTable segments, string name)
    {
        if (segments.Total != x.Numel)
            throw new ArgumentException($"{name} {x.Shape} has {x.Numel} elements but the segment table covers {segments.Total}");
    }

    /// <summary>result[s] = scale · (reduction of segment s), segment s = [offsets[s], offsets[s+1]).</summary>
    private void Reduce(Tensor result, Tensor a, Tensor b, ReadOnlySpan<long> offsets, ReduceKind kind, double scale)
    {
        int segments = offsets.Length - 1;
        int items = 0;
        for (int s = 0; s < segments; s++) items += Flat.Count(offsets[s + 1] - offsets[s], Flat.ReduceChunk);
        if (_reducePartial.Length < items)
        {
            int cap = Math.Max(items, 2 * _reducePartial.Length);
            _reduceItemSegment = new int[cap];
            _reduceItemStart = new long[cap];
            _reduceItemLength = new int[cap];
            _reducePartial = new double[cap];
        }
        int item = 0;
        for (int s = 0; s < segments; s++)
            for (long start = offsets[s]; start < offsets[s + 1]; start += Flat.ReduceChunk)
            {
                _reduceItemSegment[item] = s;
                _reduceItemStart[item] = start;
                _reduceItemLength[item] = (int)Math.Min(Flat.ReduceChunk, offsets[s + 1] - start);
                item++;
            }

        nint pa = a.Ptr, pb = b.Ptr;
        if (items == 1) ReduceItem(0, pa, pb, kind);
        else if (items > 1) Parallel.For(0, items, Workers, i => ReduceItem(i, pa, pb, kind));

        // Combine in order: segment by segment, chunk by chunk. Empty segments give 0.
        Span<float> r = result.AsSpan();
        item = 0;
        for (int s = 0; s < segments; s++)
        {
            double total = 0;
            while (item < items && _reduceItemSegment[item] == s) total += _reducePartial[item++];
            r[s] = (float)(total * scale);
        }
    }

    private unsafe void ReduceItem(int i, nint pa, nint pb, ReduceKind kind)
    {
        float* a = (float*)pa + _reduceItemStart[i];
        float* b = (float*)pb + _reduceItemStart[i];
        int n = _reduceItemLength[i];
        _reducePartial[i] = kind switch
        {
            ReduceKind.Sum => Flat.Sum(a, n),
            ReduceKind.SumSquares => Flat.SumSquares(a, n),
            ReduceKind.Dot => Flat.Dot(a, b, n),
            ReduceKind.SquaredDiff => Flat.SquaredDiff(a, b, n),
            ReduceKind.BceWithLogits => BceChunk(a, b, n),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }
}
