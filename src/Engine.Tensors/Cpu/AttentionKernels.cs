using System.Runtime.Intrinsics;

namespace Engine.Cpu;

/// <summary>
/// Inner loops of the CPU attention. Keys and values of one (batch, head) are packed transposed, [D][n8] with
/// n8 = Tk rounded up to 8 and zero padding, so the score kernels vectorize over keys for any head size
/// (40, 80, 160, 7...) with no remainder loop. Queries are handled four rows at a time (register blocking:
/// each packed key vector loaded once feeds four FMAs). Every loop has one fixed order, independent of
/// addresses and threads.
/// </summary>
internal static unsafe class AttentionKernels
{
    /// <summary>Query rows per register block.</summary>
    public const int Rows = 4;

    public static int Round8(int n) => (n + 7) & ~7;

    /// <summary>
    /// Row stride of a packed [D][n8] block: n8, nudged off multiples of 128 floats so that the D rows a score
    /// kernel walks at once do not all land in the same L1 cache sets (Tk = 4096 would give a 16 KiB stride).
    /// </summary>
    public static int PackedStride(int n8) => n8 % 128 == 0 ? n8 + 8 : n8;

    /// <summary>
    /// dst[d·ld + j] = src[j·srcStride + d] for j &lt; len; zero for len ≤ j &lt; n8. Transposed 8 keys at a
    /// time so that each write is a contiguous run and the 8 source rows stay in L1 (a plain column-by-column
    /// transpose touches D pages per key and was the forward's bottleneck).
    /// </summary>
    public static void PackTransposed(float* dst, int ld, float* src, int srcStride, int len, int n8, int headDim)
    {
        for (int j0 = 0; j0 < n8; j0 += 8)
        {
            int valid = Math.Min(8, len - j0);
            for (int d = 0; d < headDim; d++)
            {
                float* row = dst + (long)d * ld + j0;
                for (int jj = 0; jj < valid; jj++) row[jj] = src[(long)(j0 + jj) * srcStride + d];
                for (int jj = Math.Max(valid, 0); jj < 8; jj++) row[jj] = 0;
            }
        }
    }

    /// <summary>dst[j·dstStride + d] = src[d·ld + j]: the inverse of <see cref="PackTransposed"/>, 8 keys at a time.</summary>
    public static void UnpackTransposed(float* dst, int dstStride, float* src, int ld, int len, int headDim)
    {
        for (int j0 = 0; j0 < len; j0 += 8)
        {
            int valid = Math.Min(8, len - j0);
            for (int d = 0; d < headDim; d++)
            {
                float* col = src + (long)d * ld + j0;
                for (int jj = 0; jj < valid; jj++) dst[(long)(j0 + jj) * dstStride + d] = col[jj];
            }
        }
    }

    /// <summary>
    /// s[r·ldS + j] = Σ_d a[r·D + d]·bt[d·ldB + j] for the 4 rows r of a and keys j &lt; n8 (a multiple of 8):
    /// the scores q·kᵀ (or dO·vᵀ) of four query rows against packed keys.
    /// </summary>
    public static void Scores4(float* s, int ldS, float* a, float* bt, int ldB, int headDim, int n8)
    {
        float* a0 = a, a1 = a + headDim, a2 = a + 2 * headDim, a3 = a + 3 * headDim;
        int j = 0;
        for (; j + 16 <= n8; j += 16)
        {
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
            float* b = bt + j;
            for (int d = 0; d < headDim; d++, b += ldB)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var x = Vector256.Create(a0[d]);
                c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                x = Vector256.Create(a1[d]);
                c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                x = Vector256.Create(a2[d]);
                c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                x = Vector256.Create(a3[d]);
                c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            }
            c00.Store(s + j);
            c01.Store(s + j + 8);
            c10.Store(s + ldS + j);
            c11.Store(s + ldS + j + 8);
            c20.Store(s + 2 * ldS + j);
            c21.Store(s + 2 * ldS + j + 8);
            c30.Store(s + 3 * ldS + j);
            c31.Store(s + 3 * ldS + j + 8);
        }
        for (; j < n8; j += 8)
        {
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            float* b = bt + j;
            for (int d = 0; d < headDim; d++, b += ldB)
            {
                var b0 = Vector256.Load(b);
                c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[d]), b0, c0);
                c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[d]), b0, c1);
                c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[d]), b0, c2);
                c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[d]), b0, c3);
            }
            c0.Store(s + j);
            c1.Store(s + ldS + j);
            c2.Store(s + 2 * ldS + j);
            c3.Store(s + 3 * ldS + j);
        }
    }

    /// <summary>
    /// dst[d·ld + j] += Σ_r coef[r·D + d]·src[r·ldSrc + j] for j &lt; n8: the rank-4 update of packed
    /// dKᵀ (coef = scaled q, src = dS) or dVᵀ (coef = dO, src = P) by one block of query rows.
    /// </summary>
    public static void Accumulate4(float* dst, int ld, float* coef, float* src, int ldSrc, int headDim, int n8)
    {
        float* s0 = src, s1 = src + ldSrc, s2 = src + 2 * ldSrc, s3 = src + 3 * ldSrc;
        for (int d = 0; d < headDim; d++)
        {
            var k0 = Vector256.Create(coef[d]);
            var k1 = Vector256.Create(coef[headDim + d]);
            var k2 = Vector256.Create(coef[2 * headDim + d]);
            var k3 = Vector256.Create(coef[3 * headDim + d]);
            float* row = dst + (long)d * ld;
            for (int j = 0; j < n8; j += 8)
            {
                var acc = Vector256.Load(row + j);
                acc = Vector256.FusedMultiplyAdd(k0, Vector256.Load(s0 + j), acc);
                acc = Vector256.FusedMultiplyAdd(k1, Vector256.Load(s1 + j), acc);
                acc = Vector256.FusedMultiplyAdd(k2, Vector256.Load(s2 + j), acc);
                acc = Vector256.FusedMultiplyAdd(k3, Vector256.Load(s3 + j), acc);
                acc.Store(row + j);
            }
        }
    }

    /// <summary>
    /// result[r] = Σ_j a[r·ldA + j]·b[j] for the 4 rows of a and j &lt; n8 (a multiple of 8): P·v (or dS·k) for
    /// one head-dim column of four query rows, each load of b shared by four rows. Rows must be zero past
    /// their own length.
    /// </summary>
    public static void Dot4(float* a, int ldA, float* b, int n8, float* result)
    {
        float* a0 = a, a1 = a + ldA, a2 = a + 2 * ldA, a3 = a + 3 * ldA;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<float> e0 = default, e1 = default, e2 = default, e3 = default;
        int j = 0;
        for (; j + 16 <= n8; j += 16)
        {
            var b0 = Vector256.Load(b + j);
            var b1 = Vector256.Load(b + j + 8);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Load(a0 + j), b0, c0);
            e0 = Vector256.FusedMultiplyAdd(Vector256.Load(a0 + j + 8), b1, e0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Load(a1 + j), b0, c1);
            e1 = Vector256.FusedMultiplyAdd(Vector256.Load(a1 + j + 8), b1, e1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Load(a2 + j), b0, c2);
            e2 = Vector256.FusedMultiplyAdd(Vector256.Load(a2 + j + 8), b1, e2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Load(a3 + j), b0, c3);
            e3 = Vector256.FusedMultiplyAdd(Vector256.Load(a3 + j + 8), b1, e3);
        }
        if (j < n8)
        {
            var b0 = Vector256.Load(b + j);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Load(a0 + j), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Load(a1 + j), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Load(a2 + j), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Load(a3 + j), b0, c3);
        }
        result[0] = Vector256.Sum(c0 + e0);
        result[1] = Vector256.Sum(c1 + e1);
        result[2] = Vector256.Sum(c2 + e2);
        result[3] = Vector256.Sum(c3 + e3);
    }

    /// <summary>Σ a·b with four vector accumulators, then a scalar tail: one fixed order.</summary>
    public static float Dot(float* a, float* b, int n)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            c0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), c3);
        }
        for (; i + 8 <= n; i += 8) c0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), c0);
        float s = Vector256.Sum((c0 + c1) + (c2 + c3));
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(a[i], b[i], s);
        return s;
    }

    /// <summary>Σ x in one fixed order.</summary>
    public static float Sum(float* x, int n)
    {
        Vector256<float> c0 = default, c1 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            c0 += Vector256.Load(x + i);
            c1 += Vector256.Load(x + i + 8);
        }
        for (; i + 8 <= n; i += 8) c0 += Vector256.Load(x + i);
        float s = Vector256.Sum(c0 + c1);
        for (; i < n; i++) s += x[i];
        return s;
    }
}
