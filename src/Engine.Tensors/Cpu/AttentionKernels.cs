using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Cpu.Sgemm;

namespace Engine.Cpu;

/// <summary>
/// Packing and tile arithmetic of the CPU attention (<see cref="AttentionForward"/>, <see cref="AttentionBackward"/>).
/// All products go through the SGEMM micro-kernel, C[MR × NR] += A-panel · B-panel, so every operand is laid out
/// the way that kernel streams it:
/// <list type="bullet">
/// <item>token panels (A, one row per token, k = head dim): [tokens/MR][D][MR], e.g. K for the scores Sᵀ = K·Qᵀ;</item>
/// <item>feature panels (A, one row per head-dim feature, k = tokens): [D/MR][tokens][MR], e.g. V for Oᵀ = Vᵀ·Pᵀ;</item>
/// <item>transposed panels (B, k = head dim, NR tokens wide): [D][NR], e.g. Qᵀ;</item>
/// <item>score tiles (C, then B): [keys][NR queries], keys as rows and one query per SIMD lane, so the softmax
/// statistics of a query are plain vector operations down the rows.</item>
/// </list>
/// Widths are whole NR panels and heights whole MR panels, zero-padded: the kernel never takes an edge path.
/// Every loop has one fixed order, independent of addresses and threads.
/// </summary>
internal static unsafe class AttentionKernels
{
    public static int RoundUp(int n, int to) => (n + to - 1) / to * to;

    /// <summary>
    /// dst[(i/mr)·D·mr + d·mr + i%mr] = src[i·stride + d] for tokens i &lt; count; count ≤ i &lt; padded are zero.
    /// Writes up to 2 floats past padded·D (the 6 × 8 transpose's overlapping store): leave slack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackTokenPanels(float* dst, int mr, float* src, int stride, int count, int padded, int headDim)
    {
        for (int i0 = 0; i0 < padded; i0 += mr)
            Packing.PackA(dst + (long)i0 * headDim, mr, src, stride, false, i0, Math.Clamp(count - i0, 0, mr), 0, headDim);
    }

    /// <summary>
    /// dst[(d/mr)·panelTokens·mr + i·mr + d%mr] = src[i·stride + d] for i &lt; count, d &lt; D; padding (d ≥ D,
    /// count ≤ i &lt; padded) zero. panelTokens (default: padded) lets a caller fill the tail of wider panels.
    /// Token by token: each row is read once, as MR-float runs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackFeaturePanels(float* dst, int mr, float* src, int stride, int count, int padded, int headDim, int panelTokens = 0)
    {
        if (panelTokens == 0) panelTokens = padded;
        int full = headDim / mr * mr;
        for (int i = 0; i < count; i++)
        {
            float* row = src + (long)i * stride, to = dst + (long)i * mr;
            for (int d0 = 0; d0 < full; d0 += mr) CopyRun(to + (long)d0 * panelTokens, row + d0, mr);
            if (full < headDim)
            {
                float* t = to + (long)full * panelTokens;
                for (int r = 0; r < mr; r++) t[r] = full + r < headDim ? row[full + r] : 0f;
            }
        }
        for (int d0 = 0; d0 < headDim; d0 += mr)
            new Span<float>(dst + (long)d0 * panelTokens + (long)count * mr, (padded - count) * mr).Clear();
    }

    /// <summary>dst[0..n) = src[0..n) for one panel row (n = MR: 8, 6 or 4), without reading past src + n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* dst, float* src, int n)
    {
        if (n == 8) Vector256.Store(Vector256.Load(src), dst);
        else if (n == 6)
        {
            Vector128.Store(Vector128.Load(src), dst);
            *(ulong*)(dst + 4) = *(ulong*)(src + 4);
        }
        else if (n == 4) Vector128.Store(Vector128.Load(src), dst);
        else new ReadOnlySpan<float>(src, n).CopyTo(new Span<float>(dst, n));
    }

    /// <summary>dst[d·nr + c] = src[c·stride + d] for c &lt; count; columns count ≤ c &lt; nr are zero.</summary>
    public static void PackTransposedPanel(float* dst, int nr, float* src, int stride, int count, int headDim)
    {
        Transpose(dst, nr, src, stride, count, headDim);
        for (int c = count; c < nr; c++)
            for (int d = 0; d < headDim; d++) dst[d * nr + c] = 0;
    }

    /// <summary>
    /// dst[i·stride + d] = src[d·ld + i] for i &lt; count, d &lt; D: a [D][ld] block of feature rows (a C block of the
    /// kernel) back to token rows.
    /// </summary>
    public static void UnpackFeatureRows(float* dst, int stride, float* src, int ld, int count, int headDim) =>
        Transpose(dst, stride, src, ld, headDim, count);

    /// <summary>dst[c·ldd + r] = src[r·lds + c] for r &lt; rows, c &lt; cols: 8 × 8 tiles with AVX, the edges one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* dst, nint ldd, float* src, nint lds, int rows, int cols)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= rows; r += 8)
            {
                int c = 0;
                for (; c + 8 <= cols; c += 8) Packing.Transpose8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
                for (; c < cols; c++)
                    for (int rr = r; rr < r + 8; rr++) dst[c * ldd + rr] = src[rr * lds + c];
            }
        }
        for (; r < rows; r++)
            for (int c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
    }

    /// <summary>x[r·ld + c] *= alpha[c] for r &lt; rows, c &lt; nr (a multiple of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleColumns(float* x, int ld, int rows, int nr, float* alpha)
    {
        for (int c = 0; c < nr; c += 8)
        {
            var a = Vector256.Load(alpha + c);
            for (int r = 0; r < rows; r++) Vector256.Store(Vector256.Load(x + (long)r * ld + c) * a, x + (long)r * ld + c);
        }
    }

    /// <summary>x[i] *= alpha for i &lt; n.</summary>
    public static void Scale(float* x, long n, float alpha)
    {
        var span = new Span<float>(x, checked((int)n));
        System.Numerics.Tensors.TensorPrimitives.Multiply(span, alpha, span);
    }

    /// <summary>
    /// Copies a score tile [rows][nr] (keys × queries) into B panels of keys: for each group of nr keys g,
    /// dst[g·panelStride + c·nr + jj] = src[(g·nr + jj)·nr + c]. rows is a multiple of nr (rows past the tile zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransposeTile(float* dst, long panelStride, float* src, int rows, int nr)
    {
        for (int g = 0; g < rows; g += nr)
        {
            float* d = dst + g / nr * panelStride;
            float* sg = src + (long)g * nr;
            if (Avx.IsSupported && (nr & 7) == 0)
            {
                for (int jj = 0; jj < nr; jj += 8)
                    for (int c = 0; c < nr; c += 8) Packing.Transpose8x8(sg + jj * nr + c, nr, d + c * nr + jj, nr);
            }
            else
            {
                for (int jj = 0; jj < nr; jj++)
                    for (int c = 0; c < nr; c++) d[c * nr + jj] = sg[jj * nr + c];
            }
        }
    }

    /// <summary>
    /// Masks a score tile [rows][nr] of keys k0.. against queries q0..: keys ≥ tk (padding) and, when causal, keys past
    /// the query get <paramref name="fill"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaskTile(float* s, int nr, int rows, int k0, int tk, bool causal, int q0, float fill)
    {
        // Rows before the first padded key (and, causal, before the first key past query q0) keep every score.
        long first = Math.Max(0, Math.Min(tk - k0, causal ? q0 + 1 - k0 : rows));
        for (long j = first; j < rows; j++)
        {
            long key = k0 + j;
            float* row = s + j * nr;
            if (key >= tk) new Span<float>(row, nr).Fill(fill);
            else if (causal && key > q0)
                new Span<float>(row, (int)Math.Min(nr, key - q0)).Fill(fill); // queries q0 .. key-1 cannot see this key
        }
    }

    /// <summary>
    /// One step of the online softmax over a score tile s [rows][nr] (scaled scores in base 2, masked entries -inf;
    /// unnormalized probabilities out) for nr queries with running max m and sum l: m' = max(m, max_j s),
    /// s = 2^(s − m'), l = l·2^(m−m') + Σ_j s, and the output accumulator o [dRows][nr] rescaled by 2^(m−m').
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OnlineSoftmax(float* s, int rows, int nr, float* m, float* l, float* o, int dRows)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        for (int c = 0; c < nr; c += 8)
        {
            var mOld = Vector256.Load(m + c);
            var mNew = Vector256.MaxNative(mOld, ColumnMax(s, rows, nr, c));
            mNew.Store(m + c);
            // A column with nothing seen yet has no sum to rescale (and -inf - -inf would be NaN); one masked so far
            // keeps shift 0, so its -inf scores still give 2^-inf = 0.
            var a = Vector256.ConditionalSelect(Vector256.Equals(mOld, negInf), Vector256<float>.Zero, Exp2(mOld - mNew));
            var shift = Vector256.ConditionalSelect(Vector256.Equals(mNew, negInf), Vector256<float>.Zero, mNew);
            var sum = Vector256<float>.Zero;
            for (int j = 0; j < rows; j++)
            {
                float* x = s + (long)j * nr + c;
                var p = Exp2(Vector256.Load(x) - shift);
                p.Store(x);
                sum += p;
            }
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(l + c), a, sum), l + c);
            for (int d = 0; d < dRows; d++) Vector256.Store(Vector256.Load(o + d * nr + c) * a, o + d * nr + c);
        }
    }

    /// <summary>
    /// The softmax backward on a tile, recomputing the probabilities from the saved log-sum-exp (both in base 2):
    /// s[j][c] = p = 2^(s[j][c] − lse[c]) (masked entries -inf on entry, 0 out), ds[j][c] = p·(ds[j][c] − delta[c])
    /// with ds holding dP on entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxBackward(float* s, float* ds, int rows, int nr, float* lse, float* delta)
    {
        for (int c = 0; c < nr; c += 8)
        {
            var lc = Vector256.Load(lse + c);
            var dc = Vector256.Load(delta + c);
            for (int j = 0; j < rows; j++)
            {
                long at = (long)j * nr + c;
                var p = Exp2(Vector256.Load(s + at) - lc);
                p.Store(s + at);
                Vector256.Store(p * (Vector256.Load(ds + at) - dc), ds + at);
            }
        }
    }

    /// <summary>log2(e): the kernels compute scores in base 2 (scale·log2 e folded into the product's alpha).</summary>
    public const double Log2E = 1.4426950408889634;

    /// <summary>
    /// 2^x for x ≤ 0 (a rounding above is fine), to 7.5e-8 relative error: k = round(x), r = x − k exactly, 2^r by
    /// Cephes' degree-6 polynomial on [-½, ½], 2^k put into the exponent. x ≤ -127 (including -inf) gives exactly 0.
    /// 2.5–3× the speed of TensorPrimitives.Exp, which matters here: with that, one exponential per score at head
    /// size 40 cost as much as the score's 80 FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        x = Vector256.Max(x, Vector256.Create(-127f));
        var k = Vector256.Round(x);
        var r = x - k;
        var p = Vector256.Create(1.535336188319500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.339887440266574e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(9.618437357674640e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.550332471162809e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(2.402264791363012e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(6.931472028550421e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        return p * ((Vector256.ConvertToInt32(k) + Vector256.Create(127)) << 23).AsSingle(); // k = -127: exponent 0, so 0
    }

    private static Vector256<float> ColumnMax(float* s, int rows, int nr, int c)
    {
        var max = Vector256.Create(float.NegativeInfinity);
        for (int j = 0; j < rows; j++) max = Vector256.MaxNative(max, Vector256.Load(s + (long)j * nr + c));
        return max;
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
}
