using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Cpu.Sgemm;

/// <summary>
/// A register-blocked micro-kernel: C[MR × w] = alpha · Σ_p a[p][0..MR) ⊗ b[p][0..w) + beta · C, over kc steps of
/// packed panels (a: kc × MR, b: kc × w, both contiguous). w is a multiple of <see cref="VW"/> up to <see cref="NR"/>;
/// the last panel of a block is narrower so that narrow matrices do not pay for a full-width tile of zeros.
/// beta == 0 never reads C (C may hold NaN garbage). Each element's sum runs p = 0, 1, ... in order, one FMA per
/// step, so the bits depend only on the kernel and KC, never on how the work was split.
/// </summary>
internal unsafe interface IMicroKernel
{
    /// <summary>Rows of C per tile (broadcast operand, from packed A).</summary>
    static abstract int MR { get; }

    /// <summary>Widest tile in columns of C (vector operand, from packed B).</summary>
    static abstract int NR { get; }

    /// <summary>Panel widths are multiples of this (one SIMD vector).</summary>
    static abstract int VW { get; }

    static abstract void Run(int kc, float* a, float* b, int w, float* c, nint ldc, float alpha, float beta);
}

/// <summary>Number of SIMD vectors per packed B row, as a type so the JIT specializes a kernel per panel width.</summary>
internal interface IWidth
{
    static abstract int Vectors { get; }
}

internal struct W1 : IWidth
{
    public static int Vectors => 1;
}

internal struct W2 : IWidth
{
    public static int Vectors => 2;
}

internal struct W3 : IWidth
{
    public static int Vectors => 3;
}

/// <summary>
/// AVX-512: 8 rows × 48 columns = 24 zmm accumulators, 3 B vectors and one broadcast live per k step
/// (28 of 32 registers). Per k: 3 loads + 8 broadcasts feed 24 FMAs, enough to keep both FMA pipes busy.
/// 8 rows also make the A pack a plain 8×8 transpose.
/// </summary>
internal unsafe struct Avx512Kernel : IMicroKernel
{
    public static int MR => 8;

    public static int NR => 48;

    public static int VW => 16;

    public static void Run(int kc, float* a, float* b, int w, float* c, nint ldc, float alpha, float beta)
    {
        if (w == 48) Tile<W3>(kc, a, b, c, ldc, alpha, beta);
        else if (w == 32) Tile<W2>(kc, a, b, c, ldc, alpha, beta);
        else Tile<W1>(kc, a, b, c, ldc, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TW>(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
        where TW : struct, IWidth
    {
        // C is read (or written) only after the k loop; fetching its lines now hides the cache misses behind the FMAs.
        for (int r = 0; r < 8; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            if (TW.Vectors > 1) Sse.Prefetch0(c + r * ldc + 16);
            if (TW.Vectors > 2) Sse.Prefetch0(c + r * ldc + 32);
        }
        Vector512<float> c00 = default, c01 = default, c02 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default;
        Vector512<float> c60 = default, c61 = default, c62 = default;
        Vector512<float> c70 = default, c71 = default, c72 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(pb);
            var b1 = TW.Vectors > 1 ? Vector512.Load(pb + 16) : default;
            var b2 = TW.Vectors > 2 ? Vector512.Load(pb + 32) : default;
            Vector512<float> a;
            a = Vector512.Create(pa[0]);
            c00 = Avx512F.FusedMultiplyAdd(a, b0, c00);
            if (TW.Vectors > 1) c01 = Avx512F.FusedMultiplyAdd(a, b1, c01);
            if (TW.Vectors > 2) c02 = Avx512F.FusedMultiplyAdd(a, b2, c02);
            a = Vector512.Create(pa[1]);
            c10 = Avx512F.FusedMultiplyAdd(a, b0, c10);
            if (TW.Vectors > 1) c11 = Avx512F.FusedMultiplyAdd(a, b1, c11);
            if (TW.Vectors > 2) c12 = Avx512F.FusedMultiplyAdd(a, b2, c12);
            a = Vector512.Create(pa[2]);
            c20 = Avx512F.FusedMultiplyAdd(a, b0, c20);
            if (TW.Vectors > 1) c21 = Avx512F.FusedMultiplyAdd(a, b1, c21);
            if (TW.Vectors > 2) c22 = Avx512F.FusedMultiplyAdd(a, b2, c22);
            a = Vector512.Create(pa[3]);
            c30 = Avx512F.FusedMultiplyAdd(a, b0, c30);
            if (TW.Vectors > 1) c31 = Avx512F.FusedMultiplyAdd(a, b1, c31);
            if (TW.Vectors > 2) c32 = Avx512F.FusedMultiplyAdd(a, b2, c32);
            a = Vector512.Create(pa[4]);
            c40 = Avx512F.FusedMultiplyAdd(a, b0, c40);
            if (TW.Vectors > 1) c41 = Avx512F.FusedMultiplyAdd(a, b1, c41);
            if (TW.Vectors > 2) c42 = Avx512F.FusedMultiplyAdd(a, b2, c42);
            a = Vector512.Create(pa[5]);
            c50 = Avx512F.FusedMultiplyAdd(a, b0, c50);
            if (TW.Vectors > 1) c51 = Avx512F.FusedMultiplyAdd(a, b1, c51);
            if (TW.Vectors > 2) c52 = Avx512F.FusedMultiplyAdd(a, b2, c52);
            a = Vector512.Create(pa[6]);
            c60 = Avx512F.FusedMultiplyAdd(a, b0, c60);
            if (TW.Vectors > 1) c61 = Avx512F.FusedMultiplyAdd(a, b1, c61);
            if (TW.Vectors > 2) c62 = Avx512F.FusedMultiplyAdd(a, b2, c62);
            a = Vector512.Create(pa[7]);
            c70 = Avx512F.FusedMultiplyAdd(a, b0, c70);
            if (TW.Vectors > 1) c71 = Avx512F.FusedMultiplyAdd(a, b1, c71);
            if (TW.Vectors > 2) c72 = Avx512F.FusedMultiplyAdd(a, b2, c72);
            pa += 8;
            pb += TW.Vectors * 16;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        StoreRow<TW>(c + 0 * ldc, c00, c01, c02, va, vb, beta);
        StoreRow<TW>(c + 1 * ldc, c10, c11, c12, va, vb, beta);
        StoreRow<TW>(c + 2 * ldc, c20, c21, c22, va, vb, beta);
        StoreRow<TW>(c + 3 * ldc, c30, c31, c32, va, vb, beta);
        StoreRow<TW>(c + 4 * ldc, c40, c41, c42, va, vb, beta);
        StoreRow<TW>(c + 5 * ldc, c50, c51, c52, va, vb, beta);
        StoreRow<TW>(c + 6 * ldc, c60, c61, c62, va, vb, beta);
        StoreRow<TW>(c + 7 * ldc, c70, c71, c72, va, vb, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TW>(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2,
        Vector512<float> va, Vector512<float> vb, float beta)
        where TW : struct, IWidth
    {
        if (beta == 0)
        {
            Vector512.Store(va * v0, c);
            if (TW.Vectors > 1) Vector512.Store(va * v1, c + 16);
            if (TW.Vectors > 2) Vector512.Store(va * v2, c + 32);
        }
        else
        {
            Vector512.Store(Avx512F.FusedMultiplyAdd(va, v0, vb * Vector512.Load(c)), c);
            if (TW.Vectors > 1) Vector512.Store(Avx512F.FusedMultiplyAdd(va, v1, vb * Vector512.Load(c + 16)), c + 16);
            if (TW.Vectors > 2) Vector512.Store(Avx512F.FusedMultiplyAdd(va, v2, vb * Vector512.Load(c + 32)), c + 32);
        }
    }
}

/// <summary>
/// AVX2 + FMA (16 ymm registers): the classic 6 × 16 tile, 12 accumulators + 2 B vectors + 1 broadcast.
/// </summary>
internal unsafe struct Avx2Kernel : IMicroKernel
{
    public static int MR => 6;

    public static int NR => 16;

    public static int VW => 8;

    public static void Run(int kc, float* a, float* b, int w, float* c, nint ldc, float alpha, float beta)
    {
        if (w == 16) Tile<W2>(kc, a, b, c, ldc, alpha, beta);
        else Tile<W1>(kc, a, b, c, ldc, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TW>(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
        where TW : struct, IWidth
    {
        for (int r = 0; r < 6; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            if (TW.Vectors > 1) Sse.Prefetch0(c + r * ldc + 8);
        }
        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default;
        Vector256<float> c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(pb);
            var b1 = TW.Vectors > 1 ? Vector256.Load(pb + 8) : default;
            Vector256<float> a;
            a = Vector256.Create(pa[0]);
            c00 = Fma.MultiplyAdd(a, b0, c00);
            if (TW.Vectors > 1) c01 = Fma.MultiplyAdd(a, b1, c01);
            a = Vector256.Create(pa[1]);
            c10 = Fma.MultiplyAdd(a, b0, c10);
            if (TW.Vectors > 1) c11 = Fma.MultiplyAdd(a, b1, c11);
            a = Vector256.Create(pa[2]);
            c20 = Fma.MultiplyAdd(a, b0, c20);
            if (TW.Vectors > 1) c21 = Fma.MultiplyAdd(a, b1, c21);
            a = Vector256.Create(pa[3]);
            c30 = Fma.MultiplyAdd(a, b0, c30);
            if (TW.Vectors > 1) c31 = Fma.MultiplyAdd(a, b1, c31);
            a = Vector256.Create(pa[4]);
            c40 = Fma.MultiplyAdd(a, b0, c40);
            if (TW.Vectors > 1) c41 = Fma.MultiplyAdd(a, b1, c41);
            a = Vector256.Create(pa[5]);
            c50 = Fma.MultiplyAdd(a, b0, c50);
            if (TW.Vectors > 1) c51 = Fma.MultiplyAdd(a, b1, c51);
            pa += 6;
            pb += TW.Vectors * 8;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        StoreRow<TW>(c + 0 * ldc, c00, c01, va, vb, beta);
        StoreRow<TW>(c + 1 * ldc, c10, c11, va, vb, beta);
        StoreRow<TW>(c + 2 * ldc, c20, c21, va, vb, beta);
        StoreRow<TW>(c + 3 * ldc, c30, c31, va, vb, beta);
        StoreRow<TW>(c + 4 * ldc, c40, c41, va, vb, beta);
        StoreRow<TW>(c + 5 * ldc, c50, c51, va, vb, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TW>(float* c, Vector256<float> v0, Vector256<float> v1,
        Vector256<float> va, Vector256<float> vb, float beta)
        where TW : struct, IWidth
    {
        if (beta == 0)
        {
            Vector256.Store(va * v0, c);
            if (TW.Vectors > 1) Vector256.Store(va * v1, c + 8);
        }
        else
        {
            Vector256.Store(Fma.MultiplyAdd(va, v0, vb * Vector256.Load(c)), c);
            if (TW.Vectors > 1) Vector256.Store(Fma.MultiplyAdd(va, v1, vb * Vector256.Load(c + 8)), c + 8);
        }
    }
}

/// <summary>Portable fallback for CPUs without AVX2/FMA (and a readable statement of what the kernels compute).</summary>
internal unsafe struct ScalarKernel : IMicroKernel
{
    public static int MR => 4;

    public static int NR => 8;

    public static int VW => 4;

    public static void Run(int kc, float* a, float* b, int w, float* c, nint ldc, float alpha, float beta)
    {
        float* acc = stackalloc float[4 * 8];
        new Span<float>(acc, 4 * 8).Clear();
        for (int p = 0; p < kc; p++)
        {
            for (int i = 0; i < 4; i++)
            {
                float ai = a[p * 4 + i];
                for (int j = 0; j < w; j++) acc[i * 8 + j] += ai * b[p * w + j];
            }
        }
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < w; j++)
            {
                float* cij = c + i * ldc + j;
                *cij = beta == 0 ? alpha * acc[i * 8 + j] : alpha * acc[i * 8 + j] + beta * *cij;
            }
        }
    }
}
