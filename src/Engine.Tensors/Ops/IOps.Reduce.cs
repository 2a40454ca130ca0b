using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// Segments of a flat buffer: segment i is [Offsets[i], Offsets[i+1]). Used for per-parameter-tensor
/// reductions over the packed gradient buffer (gradient surgery, norm clipping).
/// </summary>
public sealed class SegmentTable
{
    public SegmentTable(long[] offsets)
    {
        if (offsets.Length < 1 || offsets[0] != 0)
            throw new ArgumentException("segment offsets must start at 0", nameof(offsets));
        for (int i = 1; i < offsets.Length; i++)
            if (offsets[i] < offsets[i - 1])
                throw new ArgumentException($"segment offsets must not decrease (index {i}: {offsets[i - 1]} then {offsets[i]})", nameof(offsets));
        Offsets = offsets;
    }

    public long[] Offsets { get; }

    public int Count => Offsets.Length - 1;

    public long Total => Offsets[^1];

    public static SegmentTable FromSizes(IEnumerable<long> sizes)
    {
        var list = new List<long> { 0 };
        foreach (var s in sizes) list.Add(checked(list[^1] + s));
        return new SegmentTable([.. list]);
    }
}

/// <remarks>
/// Reductions are deterministic: a segment (a whole tensor is one segment) is summed in chunks of 8192
/// elements counted from the segment's own start, each chunk in double, the chunks added in order and the
/// total rounded to float once. A segment's result therefore depends only on its own elements: not on the
/// thread count, the other segments or where it sits in the buffer (SegmentSumSquares of a segment equals
/// SumSquares of a copy of it, bit for bit). Empty segments give 0.
/// </remarks>
public partial interface IOps
{
    /// <summary>result [1] = Σ x. Summation order is fixed (independent of thread count).</summary>
    void Sum(Tensor result, Tensor x);

    /// <summary>result [1] = Σ x².</summary>
    void SumSquares(Tensor result, Tensor x);

    /// <summary>result [1] = Σ a·b.</summary>
    void Dot(Tensor result, Tensor a, Tensor b);

    /// <summary>result [segments] = Σ x² per segment of the flat buffer x.</summary>
    void SegmentSumSquares(Tensor result, Tensor x, SegmentTable segments);

    /// <summary>result [segments] = Σ a·b per segment.</summary>
    void SegmentDot(Tensor result, Tensor a, Tensor b, SegmentTable segments);
}
