using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Engine.IO.Safetensors;

/// <summary>
/// Storage-format conversions. Widening (F16/BF16/F64 to F32) is exact except F64, which rounds to nearest even;
/// narrowing (F32 to F16/BF16) rounds to nearest even, as PyTorch's <c>.half()</c> and <c>.bfloat16()</c> do.
/// </summary>
public static class FloatConvert
{
    public static void F16ToF32(ReadOnlySpan<byte> src, Span<float> dst) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);

    /// <summary>IEEE round-to-nearest-even; values beyond the F16 range become infinities.</summary>
    public static void F32ToF16(ReadOnlySpan<float> src, Span<byte> dst) =>
        TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(dst));

    /// <summary>BF16 is the top half of an F32, so widening is a shift.</summary>
    public static void BF16ToF32(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var s = MemoryMarshal.Cast<byte, ushort>(src);
        var d = MemoryMarshal.Cast<float, uint>(dst);
        for (int i = 0; i < s.Length; i++) d[i] = (uint)s[i] << 16;
    }

    public static void F32ToBF16(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var d = MemoryMarshal.Cast<byte, ushort>(dst);
        for (int i = 0; i < src.Length; i++) d[i] = ToBF16(src[i]);
    }

    /// <summary>
    /// Round to nearest even by adding 0x7FFF plus the lowest kept bit before truncating; NaN stays a
    /// (quiet) NaN instead of rounding up into the infinity pattern.
    /// </summary>
    public static ushort ToBF16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x0040);
        uint lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFF + lsb) >> 16);
    }

    public static float FromBF16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Nearest-even rounding (the C# cast); out-of-range values become infinities.</summary>
    public static void F64ToF32(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var s = MemoryMarshal.Cast<byte, double>(src);
        for (int i = 0; i < s.Length; i++) dst[i] = (float)s[i];
    }
}
