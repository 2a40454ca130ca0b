using Engine.Ops;

namespace Engine.Cpu;

/// <summary>
/// Unfolds one image for convolution as a GEMM: col[(c·R + r)·S + s][oh·OutW + ow] = x[c][oh·sh − ph + r][ow·sw − pw + s]
/// (zero outside the image), so conv = weight[K × CRS] · col[CRS × P]. Col2Im is its adjoint: it sums every column
/// entry back onto the pixel it was read from.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>Rows of col per parallel chunk; fixed so the split never depends on the thread count.</summary>
    private const int RowsPerChunk = 16;

    /// <summary>
    /// Columns of output rows [oy0, oy1) only (a band of P), as a CRS × ((oy1 − oy0)·OutW) matrix whose rows are
    /// <paramref name="ldCol"/> apart (wider when several images sit side by side in one column matrix).
    /// </summary>
    public static void Unfold(float* col, long ldCol, float* x, in Conv2dSpec s, int oy0, int oy1, ParallelOptions workers)
    {
        int rows = s.C * s.R * s.S;
        int chunks = (rows + RowsPerChunk - 1) / RowsPerChunk;
        nint pc = (nint)col, px = (nint)x;
        var spec = s;
        if (chunks == 1 || workers.MaxDegreeOfParallelism == 1)
        {
            for (int ch = 0; ch < chunks; ch++)
                UnfoldRows((float*)pc, ldCol, (float*)px, spec, oy0, oy1, ch * RowsPerChunk, Math.Min(rows, (ch + 1) * RowsPerChunk));
            return;
        }
        Parallel.For(0, chunks, workers, ch =>
            UnfoldRows((float*)pc, ldCol, (float*)px, spec, oy0, oy1, ch * RowsPerChunk, Math.Min(rows, (ch + 1) * RowsPerChunk)));
    }

    private static void UnfoldRows(float* col, long ldCol, float* x, in Conv2dSpec s, int oy0, int oy1, int row0, int row1)
    {
        int ow = s.OutW;
        for (int row = row0; row < row1; row++)
        {
            int c = row / (s.R * s.S), r = row / s.S % s.R, sx = row % s.S;
            float* dst = col + row * ldCol;
            float* plane = x + (long)c * s.H * s.W;
            if (IsShift(s))
            {
                UnfoldShifted(dst, plane, s, oy0, oy1, r, sx);
                continue;
            }
            // Output columns whose input column iw = ow·sw − pw + sx lies inside the image: [owLo, owHi).
            var (owLo, owHi) = ValidColumns(s, sx);
            for (int oy = oy0; oy < oy1; oy++)
            {
                int ih = oy * s.StrideH - s.PadH + r;
                float* d = dst + (oy - oy0) * ow;
                if ((uint)ih >= (uint)s.H)
                {
                    new Span<float>(d, ow).Clear();
                    continue;
                }
                float* src = plane + ih * s.W - s.PadW + sx;
                new Span<float>(d, owLo).Clear();
                if (s.StrideW == 1)
                {
                    new ReadOnlySpan<float>(src + owLo, owHi - owLo).CopyTo(new Span<float>(d + owLo, owHi - owLo));
                }
                else
                {
                    for (int ox = owLo; ox < owHi; ox++) d[ox] = src[ox * s.StrideW];
                }
                new Span<float>(d + owHi, ow - owHi).Clear();
            }
        }
    }

    /// <summary>
    /// dx += Σ col entries of output rows [oy0, oy1) onto their pixels, one channel per task in a fixed order;
    /// <paramref name="clear"/> zeroes dx first (the first band), so dx is overwritten.
    /// </summary>
    public static void Fold(float* dx, float* col, long ldCol, in Conv2dSpec s, int oy0, int oy1, bool clear, ParallelOptions workers)
    {
        nint pd = (nint)dx, pc = (nint)col;
        var spec = s;
        if (s.C == 1 || workers.MaxDegreeOfParallelism == 1)
        {
            for (int c = 0; c < s.C; c++) FoldChannel((float*)pd, (float*)pc, ldCol, spec, oy0, oy1, clear, c);
            return;
        }
        Parallel.For(0, s.C, workers, c => FoldChannel((float*)pd, (float*)pc, ldCol, spec, oy0, oy1, clear, c));
    }

    private static void FoldChannel(float* dx, float* col, long ldCol, in Conv2dSpec s, int oy0, int oy1, bool clear, int c)
    {
        int ow = s.OutW;
        float* plane = dx + (long)c * s.H * s.W;
        if (clear) new Span<float>(plane, s.H * s.W).Clear();
        for (int r = 0; r < s.R; r++)
        {
            for (int sx = 0; sx < s.S; sx++)
            {
                float* src = col + ((long)(c * s.R + r) * s.S + sx) * ldCol;
                if (IsShift(s))
                {
                    FoldShifted(plane, src, s, oy0, oy1, r, sx);
                    continue;
                }
                var (owLo, owHi) = ValidColumns(s, sx);
                for (int oy = oy0; oy < oy1; oy++)
                {
                    int ih = oy * s.StrideH - s.PadH + r;
                    if ((uint)ih >= (uint)s.H) continue;
                    float* d = plane + ih * s.W - s.PadW + sx;
                    float* g = src + (oy - oy0) * ow;
                    if (s.StrideW == 1)
                    {
                        var dst = new Span<float>(d + owLo, owHi - owLo);
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<float>(g + owLo, owHi - owLo), dst);
                    }
                    else
                    {
                        for (int ox = owLo; ox < owHi; ox++) d[ox * s.StrideW] += g[ox];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Stride 1 with OutW = W ("same" padding, a UNet's 3×3 convs): output pixel (oy, ox) of column row (c, r, sx)
    /// reads input pixel (oy + r − ph, ox + sx − pw), so a band's valid output rows read one contiguous run of the
    /// plane, shifted by sx − pw. One copy or add per row of the column matrix instead of one per output row;
    /// the entries whose shifted column fell off the image row (they land on the neighbouring row's edge pixel)
    /// are cleared.
    /// </summary>
    private static bool IsShift(in Conv2dSpec s) => s.StrideH == 1 && s.StrideW == 1 && s.OutW == s.W;

    /// <summary>For <see cref="IsShift"/>: output rows [lo, hi) of the band [oy0, oy1) whose input row is inside the image.</summary>
    private static (int Lo, int Hi) ValidRows(in Conv2dSpec s, int oy0, int oy1, int r)
    {
        int lo = Math.Clamp(s.PadH - r, oy0, oy1);
        return (lo, Math.Clamp(s.H + s.PadH - r, lo, oy1));
    }

    /// <summary>
    /// For <see cref="IsShift"/>: the run of <paramref name="n"/> floats starting at plane index
    /// <paramref name="start"/>, clipped to the plane: [a, b) of the run. The floats clipped off are edge columns.
    /// </summary>
    private static (long A, long B) Clip(in Conv2dSpec s, long start, long n) => (Math.Max(0, -start), Math.Min(n, (long)s.H * s.W - start));

    /// <summary>Clears, in each of <paramref name="rows"/> rows of width W at <paramref name="d"/>, the columns whose input column sx − pw + ox is outside the row.</summary>
    private static void ClearEdgeColumns(float* d, in Conv2dSpec s, int rows, int sx)
    {
        int w = s.W, shift = sx - s.PadW;
        if (shift == 0) return;
        int from = shift < 0 ? 0 : w - shift, count = Math.Min(w, Math.Abs(shift));
        for (int i = 0; i < rows; i++) new Span<float>(d + (long)i * w + from, count).Clear();
    }

    private static void UnfoldShifted(float* dst, float* plane, in Conv2dSpec s, int oy0, int oy1, int r, int sx)
    {
        int w = s.W;
        var (lo, hi) = ValidRows(s, oy0, oy1, r);
        new Span<float>(dst, (lo - oy0) * w).Clear();
        new Span<float>(dst + (hi - oy0) * w, (oy1 - hi) * w).Clear();
        if (hi == lo) return;
        float* d = dst + (lo - oy0) * w;
        long start = (long)(lo + r - s.PadH) * w + sx - s.PadW, n = (long)(hi - lo) * w;
        var (a, b) = Clip(s, start, n);
        new ReadOnlySpan<float>(plane + start + a, (int)(b - a)).CopyTo(new Span<float>(d + a, (int)(b - a)));
        ClearEdgeColumns(d, s, hi - lo, sx);
    }

    private static void FoldShifted(float* plane, float* src, in Conv2dSpec s, int oy0, int oy1, int r, int sx)
    {
        int w = s.W;
        var (lo, hi) = ValidRows(s, oy0, oy1, r);
        if (hi == lo) return;
        float* g = src + (lo - oy0) * w;
        // The edge entries would land on the neighbouring row's pixels: zero them (the column matrix is scratch).
        ClearEdgeColumns(g, s, hi - lo, sx);
        long start = (long)(lo + r - s.PadH) * w + sx - s.PadW, n = (long)(hi - lo) * w;
        var (a, b) = Clip(s, start, n);
        var dst = new Span<float>(plane + start + a, (int)(b - a));
        System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<float>(g + a, (int)(b - a)), dst);
    }

    /// <summary>Output columns [lo, hi) whose input column iw = ow·sw − pw + sx lies inside the image (floor division).</summary>
    private static (int Lo, int Hi) ValidColumns(in Conv2dSpec s, int sx)
    {
        int ow = s.OutW;
        int lo = Math.Clamp(CeilDiv(s.PadW - sx, s.StrideW), 0, ow);
        int hi = Math.Clamp(FloorDiv(s.W - 1 + s.PadW - sx, s.StrideW) + 1, lo, ow);
        return (lo, hi);
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static int CeilDiv(int a, int b) => -FloorDiv(-a, b);
}
