using System.Runtime.CompilerServices;
using System.Text;

namespace Engine.Tensors;

[InlineArray(Shape.MaxRank)]
internal struct ShapeDims
{
    private int _d0;
}

/// <summary>
/// Row-major (PyTorch order) dimensions, stored inline so that making a view allocates nothing.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    public const int MaxRank = 6;

    private readonly ShapeDims _dims;

    public int Rank { get; }

    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
            throw new ArgumentException($"rank {dims.Length} exceeds the maximum of {MaxRank}", nameof(dims));
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw new ArgumentException($"dimension {i} is negative ({dims[i]})", nameof(dims));
            _dims[i] = dims[i];
        }
        Rank = dims.Length;
    }

    public int this[int i]
    {
        get
        {
            if (i < 0) i += Rank;
            if ((uint)i >= (uint)Rank) throw new IndexOutOfRangeException($"dimension {i} of a rank-{Rank} shape");
            return _dims[i];
        }
    }

    /// <summary>Number of elements; checked so a hostile shape cannot wrap around.</summary>
    public long Numel
    {
        get
        {
            long n = 1;
            for (int i = 0; i < Rank; i++) n = checked(n * _dims[i]);
            return n;
        }
    }

    public int[] ToArray()
    {
        var a = new int[Rank];
        for (int i = 0; i < Rank; i++) a[i] = _dims[i];
        return a;
    }

    public bool Equals(Shape other)
    {
        if (Rank != other.Rank) return false;
        for (int i = 0; i < Rank; i++)
            if (_dims[i] != other._dims[i]) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        for (int i = 0; i < Rank; i++) h.Add(_dims[i]);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Rank; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(_dims[i]);
        }
        return sb.Append(']').ToString();
    }
}
