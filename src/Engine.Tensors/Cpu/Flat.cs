using System.Runtime.Intrinsics;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Helpers for ops over flat f32 buffers: fixed-size work chunks and the deterministic chunk reductions.
/// A chunk reduction always runs the same instruction sequence (four Vector256&lt;double&gt; accumulators over
/// 16 floats per step, lanes added in a fixed order, then a scalar tail), whether or not the hardware
/// accelerates Vector256, so its bits depend only on the chunk's contents.
/// </summary>
internal static unsafe class Flat
{
    /// <summary>Elements per reduction chunk: each chunk's partial is a double; partials combine in order.</summary>
    public const int ReduceChunk = 8192;

    /// <summary>Elements per work item for element-wise ops (any size works; this one amortizes scheduling).</summary>
    public const int MapChunk = 32768;

    public static int Count(long n, int chunk) => checked((int)((n + chunk - 1) / chunk));

    public static Span<float> Span(nint ptr, long start, int length) => new((float*)ptr + start, length);

    public static void CheckF32(Tensor t, string name)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None");
        if (t.DType != DType.F32 || t.Device != Device.Cpu)
            throw new ArgumentException($"{name} must be an f32 CPU tensor, got {t}");
    }

    /// <summary>Σ x[i] in double.</summary>
    public static double Sum(float* x, int n)
    {
        var a0 = Vector256<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var v0 = Vector256.Load(x + i);
            var v1 = Vector256.Load(x + i + 8);
            a0 += Vector256.WidenLower(v0);
            a1 += Vector256.WidenUpper(v0);
            a2 += Vector256.WidenLower(v1);
            a3 += Vector256.WidenUpper(v1);
        }
        double s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++) s += x[i];
        return s;
    }

    /// <summary>Σ x[i]² in double (a float squared is exact in double, so mul+add equals FMA here).</summary>
    public static double SumSquares(float* x, int n)
    {
        var a0 = Vector256<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var v0 = Vector256.Load(x + i);
            var v1 = Vector256.Load(x + i + 8);
            var l0 = Vector256.WidenLower(v0); var h0 = Vector256.WidenUpper(v0);
            var l1 = Vector256.WidenLower(v1); var h1 = Vector256.WidenUpper(v1);
            a0 += l0 * l0;
            a1 += h0 * h0;
            a2 += l1 * l1;
            a3 += h1 * h1;
        }
        double s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++) s += (double)x[i] * x[i];
        return s;
    }

    /// <summary>Σ a[i]·b[i] in double.</summary>
    public static double Dot(float* a, float* b, int n)
    {
        var a0 = Vector256<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var x0 = Vector256.Load(a + i); var y0 = Vector256.Load(b + i);
            var x1 = Vector256.Load(a + i + 8); var y1 = Vector256.Load(b + i + 8);
            a0 += Vector256.WidenLower(x0) * Vector256.WidenLower(y0);
            a1 += Vector256.WidenUpper(x0) * Vector256.WidenUpper(y0);
            a2 += Vector256.WidenLower(x1) * Vector256.WidenLower(y1);
            a3 += Vector256.WidenUpper(x1) * Vector256.WidenUpper(y1);
        }
        double s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>Σ (a[i] - b[i])² with the difference taken in double.</summary>
    public static double SquaredDiff(float* a, float* b, int n)
    {
        var a0 = Vector256<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var x0 = Vector256.Load(a + i); var y0 = Vector256.Load(b + i);
            var x1 = Vector256.Load(a + i + 8); var y1 = Vector256.Load(b + i + 8);
            var d0 = Vector256.WidenLower(x0) - Vector256.WidenLower(y0);
            var d1 = Vector256.WidenUpper(x0) - Vector256.WidenUpper(y0);
            var d2 = Vector256.WidenLower(x1) - Vector256.WidenLower(y1);
            var d3 = Vector256.WidenUpper(x1) - Vector256.WidenUpper(y1);
            a0 += d0 * d0;
            a1 += d1 * d1;
            a2 += d2 * d2;
            a3 += d3 * d3;
        }
        double s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++)
        {
            double d = (double)a[i] - b[i];
            s += d * d;
        }
        return s;
    }

    /// <summary>Lanes added left to right (Vector256.Sum leaves the order to the hardware).</summary>
    private static double Lanes(Vector256<double> v) => ((v.GetElement(0) + v.GetElement(1)) + v.GetElement(2)) + v.GetElement(3);
}
