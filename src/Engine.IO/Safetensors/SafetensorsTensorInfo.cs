namespace Engine.IO.Safetensors;

/// <summary>One header entry: name, dtype, shape and where its bytes are.</summary>
public sealed class SafetensorsTensorInfo
{
    internal SafetensorsTensorInfo(string name, SafetensorsDType dtype, long[] shape, long numel, long begin, long end, long dataStart)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        Numel = numel;
        DataBegin = begin;
        DataEnd = end;
        FileOffset = dataStart + begin;
    }

    private readonly long[] _shape;

    public string Name { get; }

    public SafetensorsDType DType { get; }

    /// <summary>Dimensions, row-major; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => _shape;

    public int Rank => _shape.Length;

    /// <summary>Element count (1 for a scalar, 0 when a dimension is 0).</summary>
    public long Numel { get; }

    public long ByteLength => DataEnd - DataBegin;

    /// <summary><c>data_offsets[0]</c>: first byte, counted from the end of the header.</summary>
    public long DataBegin { get; }

    /// <summary><c>data_offsets[1]</c>: one past the last byte, counted from the end of the header.</summary>
    public long DataEnd { get; }

    /// <summary>Absolute position of the first byte in the file.</summary>
    public long FileOffset { get; }

    /// <summary>
    /// True when the data starts at a multiple of the element size in the file (and so in the page-aligned mapping).
    /// Files that pack odd-length F16/U8 tensors before F32 ones can break this; reads still work on x64/arm64,
    /// but code that needs aligned memory should copy with <c>ReadF32</c>/<c>LoadF32</c> instead of using a view.
    /// </summary>
    public bool IsAligned => FileOffset % DType.SizeOf() == 0;

    /// <summary>The shape as an engine <see cref="Engine.Tensors.Shape"/>; fails if the rank or a dimension does not fit.</summary>
    public Engine.Tensors.Shape ToShape(string filePath)
    {
        if (_shape.Length > Engine.Tensors.Shape.MaxRank)
            throw new SafetensorsException(filePath, Name, $"rank {_shape.Length} exceeds the engine's maximum of {Engine.Tensors.Shape.MaxRank}");
        Span<int> dims = stackalloc int[_shape.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (_shape[i] > int.MaxValue)
                throw new SafetensorsException(filePath, Name, $"dimension {i} ({_shape[i]}) exceeds {int.MaxValue}");
            dims[i] = (int)_shape[i];
        }
        return new Engine.Tensors.Shape(dims);
    }

    /// <summary>"[320, 4, 3, 3]".</summary>
    public string ShapeString() => "[" + string.Join(", ", _shape) + "]";

    public override string ToString() => $"{Name} {DType}{ShapeString()} @[{DataBegin}, {DataEnd})";
}
