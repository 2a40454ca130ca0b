using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Cpu.Sgemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panels the micro-kernels stream through,
/// so the kernel's inner loop reads memory strictly in order whatever the transposes and leading dimensions.
/// </summary>
internal static unsafe class Packing
{
    /// <summary>
    /// One A micro-panel: dst[p·mr + i] = op(A)[i0 + i, p0 + p] for p &lt; kc, i &lt; rows; rows ≤ i &lt; mr are zero.
    /// op(A)[i, p] is a[i·lda + p], or a[p·lda + i] when transA.
    /// </summary>
    public static void PackA(float* dst, int mr, float* a, nint lda, bool transA, int i0, int rows, int p0, int kc)
    {
        if (transA)
        {
            // A is stored K × M: each k step is already a contiguous run of rows.
            float* src = a + p0 * lda + i0;
            if (rows == 8 && mr == 8)
            {
                for (int p = 0; p < kc; p++) Vector256.Store(Vector256.Load(src + p * lda), dst + p * 8);
                return;
            }
            for (int p = 0; p < kc; p++)
            {
                for (int i = 0; i < rows; i++) dst[p * mr + i] = src[p * lda + i];
                for (int i = rows; i < mr; i++) dst[p * mr + i] = 0;
            }
            return;
        }

        // A is stored M × K: rows are contiguous in k, so the panel is a transpose, 8 × 8 at a time where possible.
        float* s0 = a + i0 * lda + p0;
        int done = 0;
        if (rows == 8 && mr == 8 && Avx.IsSupported)
        {
            for (; done + 8 <= kc; done += 8) Transpose8x8(s0 + done, lda, dst + done * 8, 8);
        }
        else if (rows == 6 && mr == 6 && Avx.IsSupported)
        {
            // Each 8-float store runs 2 floats into the next k step, which the next store overwrites; the last
            // one ends 2 floats past the panel, inside the pack buffer's slack (it holds KC · 8 floats).
            for (; done + 8 <= kc; done += 8) Transpose6x8(s0 + done, lda, dst + done * 6);
        }
        for (int i = 0; i < mr; i++)
        {
            if (i < rows)
            {
                float* src = s0 + i * lda;
                for (int p = done; p < kc; p++) dst[p * mr + i] = src[p];
            }
            else
            {
                for (int p = done; p < kc; p++) dst[p * mr + i] = 0;
            }
        }
    }

    /// <summary>
    /// A block of op(B) columns [j0, j0 + cols) × k [p0, p0 + kc), as consecutive panels of width
    /// w = min(nr, cols left rounded up to vw): dst[panelStart + p·w + j]; columns past cols are zero.
    /// op(B)[p, j] is b[p·ldb + j], or b[j·ldb + p] when transB.
    /// </summary>
    public static void PackB(float* dst, int nr, int vw, float* b, nint ldb, bool transB, int p0, int kc, int j0, int cols)
    {
        for (int jp = 0, w; jp < cols; jp += w)
        {
            w = PanelWidth(nr, vw, cols - jp);
            int valid = Math.Min(w, cols - jp);
            if (!transB)
            {
                float* src = b + p0 * ldb + j0 + jp;
                if (valid == w && (w & 7) == 0)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + p * ldb;
                        float* d = dst + p * w;
                        for (int j = 0; j < w; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + p * ldb;
                        float* d = dst + p * w;
                        for (int j = 0; j < valid; j++) d[j] = s[j];
                        for (int j = valid; j < w; j++) d[j] = 0;
                    }
                }
            }
            else
            {
                // B is stored N × K: column j of op(B) is row j of b, so this is a transpose.
                float* src = b + (j0 + jp) * ldb + p0;
                int j = 0;
                if (Avx.IsSupported)
                {
                    for (; j + 8 <= valid; j += 8)
                    {
                        int p = 0;
                        for (; p + 8 <= kc; p += 8) Transpose8x8(src + j * ldb + p, ldb, dst + p * w + j, w);
                        for (; p < kc; p++)
                        {
                            for (int jj = j; jj < j + 8; jj++) dst[p * w + jj] = src[jj * ldb + p];
                        }
                    }
                }
                for (; j < valid; j++)
                {
                    for (int p = 0; p < kc; p++) dst[p * w + j] = src[j * ldb + p];
                }
                for (; j < w; j++)
                {
                    for (int p = 0; p < kc; p++) dst[p * w + j] = 0;
                }
            }
            dst += kc * w;
        }
    }

    /// <summary>Software prefetch (to L2) of rows × cols floats at row stride ld.</summary>
    public static void PrefetchRows(float* src, nint ld, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < rows; i++)
        {
            float* row = src + i * ld;
            for (int j = 0; j < cols; j += 16) Sse.Prefetch1(row + j);
            Sse.Prefetch1(row + cols - 1);
        }
    }

    /// <summary>
    /// Width of the panel starting with <paramref name="left"/> columns to go: full NR panels, then the rest rounded
    /// up to whole vectors. A rest of just over one NR panel (with NR = 3 vectors) is split into two 2-vector panels
    /// rather than 3 + 1, because the 1-vector kernel has too few accumulators to keep the FMA pipes busy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PanelWidth(int nr, int vw, int left)
    {
        if (nr == 3 * vw && left > nr && left <= nr + vw) return 2 * vw;
        return Math.Min(nr, (left + vw - 1) / vw * vw);
    }

    /// <summary>dst[c·6 + r] = src[r·lds + c] for a 6 × 8 block, by 8 × 8 with two zero rows and overlapping stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose6x8(float* src, nint lds, float* dst)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds);
        var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds);
        var r5 = Avx.LoadVector256(src + 5 * lds);
        var z = Vector256<float>.Zero;
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, z, 0x44);
        var s5 = Avx.Shuffle(t4, z, 0xEE);
        var s6 = Avx.Shuffle(t5, z, 0x44);
        var s7 = Avx.Shuffle(t5, z, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + 6, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 12, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 18, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 24, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 30, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 36, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 42, Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>dst[c·ldd + r] = src[r·lds + c] for an 8 × 8 block (unpack, shuffle, lane swap).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds);
        var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds);
        var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds);
        var r7 = Avx.LoadVector256(src + 7 * lds);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(s3, s7, 0x31));
    }
}
