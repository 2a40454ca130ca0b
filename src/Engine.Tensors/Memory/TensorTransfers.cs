using Engine.Tensors;

namespace Engine.Memory;

/// <summary>The explicit host copies of <see cref="ITensorAllocator"/>, shaped for the common cases.</summary>
public static class TensorTransfers
{
    /// <summary>A new tensor of <paramref name="shape"/> in this memory holding <paramref name="values"/>.</summary>
    public static Tensor Upload(this ITensorAllocator memory, ReadOnlySpan<float> values, Shape shape)
    {
        var t = memory.Alloc(shape, DType.F32, zero: false);
        memory.Write(t, values);
        return t;
    }

    /// <summary>As <see cref="Upload(ITensorAllocator, ReadOnlySpan{float}, Shape)"/> for token ids.</summary>
    public static Tensor Upload(this ITensorAllocator memory, ReadOnlySpan<int> values, Shape shape)
    {
        var t = memory.Alloc(shape, DType.I32, zero: false);
        memory.Write(t, values);
        return t;
    }

    /// <summary>A host copy of an f32 tensor of this memory.</summary>
    public static float[] ToArray(this ITensorAllocator memory, Tensor t)
    {
        var host = new float[t.Numel];
        memory.Read<float>(host, t);
        return host;
    }
}
