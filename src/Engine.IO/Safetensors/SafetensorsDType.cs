namespace Engine.IO.Safetensors;

/// <summary>Element types of the safetensors format, spelled as in the header ("F32", "BF16", ...).</summary>
public enum SafetensorsDType : byte
{
    BOOL,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

public static class SafetensorsDTypeInfo
{
    public static int SizeOf(this SafetensorsDType t) => t switch
    {
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8
            or SafetensorsDType.F8_E5M2 or SafetensorsDType.F8_E4M3 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown safetensors dtype"),
    };

    /// <summary>The header spelling ("F32"); enum names are chosen to be exactly that.</summary>
    public static string Name(this SafetensorsDType t) => t.ToString();

    /// <summary>True for the dtypes <c>ReadF32</c> converts (F32, F16, BF16, F64).</summary>
    public static bool IsFloat(this SafetensorsDType t) =>
        t is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64;

    /// <summary>True for the dtypes <c>ReadI32</c> converts (every integer type and BOOL).</summary>
    public static bool IsInteger(this SafetensorsDType t) => t is SafetensorsDType.BOOL or SafetensorsDType.U8
        or SafetensorsDType.I8 or SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.I32
        or SafetensorsDType.U32 or SafetensorsDType.I64 or SafetensorsDType.U64;

    /// <summary>Parses the header spelling; exact, case-sensitive match as in the reference implementation.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out SafetensorsDType dtype)
    {
        foreach (var t in Enum.GetValues<SafetensorsDType>())
        {
            if (utf8.SequenceEqual(Utf8Names[(int)t]))
            {
                dtype = t;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    private static readonly byte[][] Utf8Names =
        Enum.GetValues<SafetensorsDType>().Select(t => System.Text.Encoding.UTF8.GetBytes(t.ToString())).ToArray();
}
