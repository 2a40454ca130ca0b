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
