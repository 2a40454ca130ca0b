namespace Engine.Tensors;

/// <summary>
/// A view: an address, a shape and a dtype. Contiguous row-major (NCHW for images).
/// A tensor does not own memory; an arena does. Views are structs so the hot path allocates nothing.
/// <see cref="None"/> (address 0) stands for "no tensor", e.g. a frozen parameter's gradient.
/// </summary>
public readonly struct Tensor
{
    public readonly nint Ptr;
    public readonly Shape Shape;
    public readonly DType DType;
    public readonly Device Device;

    public Tensor(nint ptr, Shape shape, DType dtype, Device device)
    {
        Ptr = ptr;
        Shape = shape;
        DType = dtype;
        Device = device;
    }

    public static Tensor None => default;

    public bool IsNone => Ptr == 0;

    public long Numel => Shape.Numel;

    public long Bytes => Numel * DType.SizeOf();

    public int Rank => Shape.Rank;

    public int Dim(int i) => Shape[i];

    /// <summary>Same bytes, other shape; the element count must match.</summary>
    public Tensor View(params ReadOnlySpan<int> dims)
    {
        var s = new Shape(dims);
        if (s.Numel != Numel)
            throw new ArgumentException($"cannot view {Shape} ({Numel} elements) as {s} ({s.Numel} elements)");
        return new Tensor(Ptr, s, DType, Device);
    }

    /// <summary>A contiguous sub-range starting at element <paramref name="offset"/>, of the given shape.</summary>
    public Tensor Slice(long offset, params ReadOnlySpan<int> dims)
    {
        var s = new Shape(dims);
        if (offset < 0 || offset + s.Numel > Numel)
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, {offset + s.Numel}) outside a tensor of {Numel} elements");
        return new Tensor(Ptr + (nint)(offset * DType.SizeOf()), s, DType, Device);
    }

    /// <summary>Host view of an f32 CPU tensor.</summary>
    public unsafe Span<float> AsSpan()
    {
        Require(DType.F32, Device.Cpu);
        return new Span<float>((void*)Ptr, checked((int)Numel));
    }

    /// <summary>Host view of an i32 CPU tensor.</summary>
    public unsafe Span<int> AsIntSpan()
    {
        Require(DType.I32, Device.Cpu);
        return new Span<int>((void*)Ptr, checked((int)Numel));
    }

    public unsafe float* F32 { get { Require(DType.F32, Device.Cpu); return (float*)Ptr; } }

    public unsafe int* I32 { get { Require(DType.I32, Device.Cpu); return (int*)Ptr; } }

    private void Require(DType dtype, Device device)
    {
        if (IsNone) throw new InvalidOperationException("tensor is None");
        if (DType != dtype || Device != device)
            throw new InvalidOperationException($"expected a {dtype} tensor on {device}, got {DType} on {Device} {Shape}");
    }

    public override string ToString() => IsNone ? "None" : $"{DType}{Shape}@{Device}";
}
