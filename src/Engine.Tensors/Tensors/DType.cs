namespace Engine.Tensors;

/// <summary>Element type of a tensor's storage. Compute is f32; F16/BF16 exist for storage and I32 for ids.</summary>
public enum DType : byte
{
    F32,
    F16,
    BF16,
    I32,
}

public static class DTypeInfo
{
    public static int SizeOf(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };
}
