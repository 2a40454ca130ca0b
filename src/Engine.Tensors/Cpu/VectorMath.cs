using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Cpu;

/// <summary>
/// The transcendental pieces of the activations, eight lanes at a time. MathF.Exp is a libm call per element (about
/// 3–12 ns here), which made SiLU and GELU the largest element-wise cost of a small UNet's step; these run about a
/// nanosecond per element. Every lane runs the same instruction sequence (FusedMultiplyAdd is exact, emulated or
/// not), so an element's result depends only on its value: not on its position, the chunking or the thread count.
/// Accuracy: <see cref="ExpNonPositive"/> is within 1.3 ulp of e^x, so σ, SiLU and GELU stay within a few ulp of the
/// scalar libm forms the CUDA kernels use.
/// </summary>
internal static class VectorMath
{
    private const float InvSqrt2 = 0.707106781186547524f;
    private const float InvSqrt2Pi = 0.398942280401432678f;

    /// <summary>
    /// e^x for x ≤ 0 (every caller exponentiates a non-positive number): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split
    /// Cody–Waite style so n·ln2 is exact), a degree-7 Taylor-like polynomial for e^r (Cephes expf's coefficients),
    /// then 2ⁿ applied in two halves so that results down to the subnormals (n ≥ −150) keep their exponent.
    /// Below −104 the result is 0 (e^−104 is under half the smallest subnormal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x)
    {
        x = Vector256.MaxNative(x, Vector256.Create(-104f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var ni = Vector256.ConvertToInt32Native(n);
        var half = ni >> 1;
        var s1 = ((half + Vector256.Create(127)) << 23).AsSingle();
        var s2 = ((ni - half + Vector256.Create(127)) << 23).AsSingle();
        return p * s1 * s2;
    }

    /// <summary>σ(x) as the scalar <see cref="CpuOps.Sigmoid"/> forms it: e = e^{−|x|}, then 1/(1+e) or e/(1+e).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x)
    {
        var e = ExpNonPositive(-Vector256.Abs(x));
        var num = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One, e);
        return num / (Vector256<float>.One + e);
    }

    /// <summary>
    /// erf: Norbert Juffa's faithfully rounded erff (each branch under 1 ulp; the polynomials MLX and PyTorch's Metal
    /// backend use; .NET has no MathF.Erf), both branches evaluated and one selected per lane. Off by our e^x's error
    /// in the tail branch (|a| &gt; 0.9277), where erf is close to ±1 so the difference is absolute, about 2⁻²⁴.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> a)
    {
        var t = Vector256.Abs(a);
        var s = a * a;

        var r = Vector256.FusedMultiplyAdd(Vector256.Create(-1.72853470e-5f), t, Vector256.Create(3.83197126e-4f));
        var u = Vector256.FusedMultiplyAdd(Vector256.Create(-3.88396438e-3f), t, Vector256.Create(2.42546219e-2f));
        r = Vector256.FusedMultiplyAdd(r, s, u);
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-1.06777877e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-6.34846687e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-1.28717512e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, -t);
        r = Vector256<float>.One - ExpNonPositive(r);
        var sign = Vector256.Create(-0f);
        var tail = Vector256.BitwiseOr(Vector256.AndNot(r, sign), Vector256.BitwiseAnd(a, sign));

        var q = Vector256.Create(-5.96761703e-4f);
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(4.99119423e-3f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(-2.67681349e-2f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(1.12819925e-1f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(-3.76125336e-1f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(1.28379166e-1f));
        q = Vector256.FusedMultiplyAdd(q, a, a);

        return Vector256.ConditionalSelect(Vector256.GreaterThan(t, Vector256.Create(0.927734375f)), tail, q);
    }

    /// <summary>x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x) =>
        Vector256.Create(0.5f) * x * (Vector256<float>.One + Erf(x * Vector256.Create(InvSqrt2)));

    /// <summary>Φ(x) + x·φ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GeluGrad(Vector256<float> x)
    {
        var cdf = Vector256.Create(0.5f) * (Vector256<float>.One + Erf(x * Vector256.Create(InvSqrt2)));
        var pdf = Vector256.Create(InvSqrt2Pi) * ExpNonPositive(Vector256.Create(-0.5f) * x * x);
        return cdf + x * pdf;
    }

    /// <summary>The first <paramref name="count"/> (&lt; 8) floats at <paramref name="p"/>, the other lanes zero.</summary>
    public static unsafe Vector256<float> LoadFirst(float* p, int count)
    {
        float* lanes = stackalloc float[8];
        Vector256.Store(Vector256<float>.Zero, lanes);
        new ReadOnlySpan<float>(p, count).CopyTo(new Span<float>(lanes, count));
        return Vector256.Load(lanes);
    }

    /// <summary>Writes the first <paramref name="count"/> (&lt; 8) lanes of <paramref name="v"/> to <paramref name="p"/>.</summary>
    public static unsafe void StoreFirst(Vector256<float> v, float* p, int count)
    {
        float* lanes = stackalloc float[8];
        Vector256.Store(v, lanes);
        new ReadOnlySpan<float>(lanes, count).CopyTo(new Span<float>(p, count));
    }
}
