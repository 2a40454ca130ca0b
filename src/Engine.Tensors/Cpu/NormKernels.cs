using System.Runtime.Intrinsics;

namespace Engine.Cpu;

/// <summary>
/// Row kernels shared by GroupNorm, LayerNorm and BatchNorm. Sums accumulate in double (statistics of
/// 64·64·10 values lose digits in f32); every loop walks its row in one fixed order with unaligned loads,
/// so a result never depends on the buffer's address or on which thread ran it.
/// </summary>
internal static unsafe class NormKernels
{
    /// <summary>Σ x.</summary>
    public static double Sum(float* x, int n)
    {
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var v = Vector256.Load(x + i);
            a0 += Vector256.WidenLower(v);
            a1 += Vector256.WidenUpper(v);
        }
        double s = Vector256.Sum(a0 + a1);
        for (; i < n; i++) s += x[i];
        return s;
    }

    /// <summary>Σ (x - mean)², the second pass of a two-pass variance (no E[x²] - E[x]² cancellation).</summary>
    public static double SumSquaredDeviation(float* x, int n, double mean)
    {
        var m = Vector256.Create(mean);
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var v = Vector256.Load(x + i);
            var d0 = Vector256.WidenLower(v) - m;
            var d1 = Vector256.WidenUpper(v) - m;
            a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
            a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
        }
        double s = Vector256.Sum(a0 + a1);
        for (; i < n; i++)
        {
            double d = x[i] - mean;
            s += d * d;
        }
        return s;
    }

    /// <summary>Σ a·b in double.</summary>
    public static double Dot(float* a, float* b, int n)
    {
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var va = Vector256.Load(a + i);
            var vb = Vector256.Load(b + i);
            a0 = Vector256.FusedMultiplyAdd(Vector256.WidenLower(va), Vector256.WidenLower(vb), a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.WidenUpper(va), Vector256.WidenUpper(vb), a1);
        }
        double s = Vector256.Sum(a0 + a1);
        for (; i < n; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>y = a·x + b: the normalize-and-affine of one channel folded into one scale and shift.</summary>
    public static void ScaleShift(float* y, float* x, float a, float b, int n)
    {
        var va = Vector256.Create(a);
        var vb = Vector256.Create(b);
        int i = 0;
        for (; i <= n - 8; i += 8) Vector256.FusedMultiplyAdd(Vector256.Load(x + i), va, vb).Store(y + i);
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(x[i], a, b);
    }

    /// <summary>dst = a·p + b·q + c: every norm's input gradient is this, with per-channel a, b, c.</summary>
    public static void Combine(float* dst, float* p, float a, float* q, float b, float c, int n)
    {
        var va = Vector256.Create(a);
        var vb = Vector256.Create(b);
        var vc = Vector256.Create(c);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var r = Vector256.FusedMultiplyAdd(Vector256.Load(q + i), vb, vc);
            Vector256.FusedMultiplyAdd(Vector256.Load(p + i), va, r).Store(dst + i);
        }
        for (; i < n; i++) dst[i] = MathF.FusedMultiplyAdd(p[i], a, MathF.FusedMultiplyAdd(q[i], b, c));
    }
}
