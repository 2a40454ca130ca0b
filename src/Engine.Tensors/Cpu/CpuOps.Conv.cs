using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// conv2d as GEMM, per image n (P = OutH·OutW, CRS = C·R·S):
///   forward   y[n] (K × P)      = weight (K × CRS) · col(x[n]) (CRS × P)          + bias
///   dweight  (K × CRS)         += dy[n] (K × P) · col(x[n])ᵀ (P × CRS)           (images in order n = 0, 1, ...)
///   dx[n]                       = col2im( weightᵀ (CRS × K) · dy[n] (K × P) )
///   dbias[k]                   += Σ_{n,p} dy[n, k, p]
/// A 1×1, stride 1, unpadded conv skips im2col: x[n] already is its column matrix (C × H·W).
/// The column workspace (CRS × P floats, or a band of output rows of it for very large images) is grown once and
/// kept on this CpuOps (a pinned managed array, so the GC frees it with the backend); ops on one CpuOps must
/// therefore not run concurrently.
/// </summary>
public sealed partial class CpuOps
{
    private float[]? _convColumns;

    public unsafe void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec)
    {
        var s = spec;
        OpChecks.Conv2dForward(s, y, x, weight, bias);

        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        float* px = x.F32, pw = weight.F32, py = y.F32;
        if (IsPointwise(s))
        {
            // One weight against every image: a strided batch with StrideA = 0.
            Gemm(py, pw, px, new GemmSpec(s.K, p, s.C, false, false, s.C, p, p, 0, (long)s.C * p, (long)s.K * p, s.N));
        }
        else
        {
            int rows = BandRows(s);
            float* col = Columns((long)crs * rows * s.OutW);
            for (int n = 0; n < s.N; n++)
            {
                for (int oy0 = 0; oy0 < s.OutH; oy0 += rows)
                {
                    int oy1 = Math.Min(s.OutH, oy0 + rows), pb = (oy1 - oy0) * s.OutW;
                    Im2Col.Unfold(col, px + (long)n * s.C * s.H * s.W, s, oy0, oy1, Workers);
                    // y[n][:, band] = weight · col(band): a column slice of y, so ldc = P.
                    Gemm(py + (long)n * s.K * p + oy0 * s.OutW, pw, col,
                        new GemmSpec(s.K, pb, crs, false, false, crs, pb, p, 0, 0, 0));
                }
            }
        }

        if (!bias.IsNone)
        {
            float* pb = bias.F32;
            for (int n = 0; n < s.N; n++)
            {
                for (int k = 0; k < s.K; k++)
                {
                    var row = new Span<float>(py + ((long)n * s.K + k) * p, p);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, pb[k], row);
                }
            }
        }
    }

    public unsafe void Conv2dBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, in Conv2dSpec spec)
    {
        var s = spec;
        OpChecks.Conv2dBackward(s, dx, dweight, dbias, dy, x, weight);

        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        long xImage = (long)s.C * s.H * s.W, yImage = (long)s.K * p;
        float* pdy = dy.F32;

        if (!dbias.IsNone) BiasGradient(dbias.F32, pdy, s.N, s.K, p);

        if (IsPointwise(s))
        {
            if (!dweight.IsNone)
            {
                float* px = x.F32, pdw = dweight.F32;
                for (int n = 0; n < s.N; n++)
                    Gemm(pdw, pdy + n * yImage, px + n * xImage, GemmSpec.Dense(s.K, s.C, p, transB: true, beta: 1f));
            }
            if (!dx.IsNone)
                Gemm(dx.F32, weight.F32, pdy, new GemmSpec(s.C, p, s.K, true, false, s.C, p, p, 0, yImage, xImage, s.N));
            return;
        }

        if (dweight.IsNone && dx.IsNone) return;
        int rows = BandRows(s);
        float* col = Columns((long)crs * rows * s.OutW);
        for (int n = 0; n < s.N; n++)
        {
            float* dyn = pdy + n * yImage;
            for (int oy0 = 0; oy0 < s.OutH; oy0 += rows)
            {
                int oy1 = Math.Min(s.OutH, oy0 + rows), pb = (oy1 - oy0) * s.OutW;
                if (!dweight.IsNone)
                {
                    // dweight += dy[n][:, band] · col(band)ᵀ
                    Im2Col.Unfold(col, x.F32 + n * xImage, s, oy0, oy1, Workers);
                    Gemm(dweight.F32, dyn + oy0 * s.OutW, col,
                        new GemmSpec(s.K, crs, pb, false, true, p, pb, crs, 0, 0, 0, Beta: 1f));
                }
                if (!dx.IsNone)
                {
                    // col(band) = weightᵀ · dy[n][:, band], summed back onto dx[n] (cleared by the first band).
                    Gemm(col, weight.F32, dyn + oy0 * s.OutW,
                        new GemmSpec(crs, pb, s.K, true, false, crs, p, pb, 0, 0, 0));
                    Im2Col.Fold(dx.F32 + n * xImage, col, s, oy0, oy1, oy0 == 0, Workers);
                }
            }
        }
    }

    /// <summary>
    /// Most column-matrix floats at once (default 64 Mi floats, 256 MiB); larger images (VAE at full resolution) are
    /// unfolded in bands of output rows. Settable so tests can force bands on small shapes.
    /// </summary>
    internal long MaxColumnFloats { get; set; } = 64L << 20;

    /// <summary>Output rows per band: all of them unless the column matrix would exceed <see cref="MaxColumnFloats"/>.</summary>
    private int BandRows(in Conv2dSpec s)
    {
        long perRow = (long)s.C * s.R * s.S * s.OutW;
        return (int)Math.Clamp(MaxColumnFloats / perRow, 1, s.OutH);
    }

    /// <summary>dbias[k] += Σ_n Σ_p dy[n, k, p]: each k by one task, images summed in order in double.</summary>
    private unsafe void BiasGradient(float* dbias, float* dy, int n, int k, int p)
    {
        nint pdb = (nint)dbias, pdy = (nint)dy;
        Parallel.For(0, k, Workers, ki =>
        {
            double sum = 0;
            for (int ni = 0; ni < n; ni++)
                sum += System.Numerics.Tensors.TensorPrimitives.Sum(new ReadOnlySpan<float>((float*)pdy + ((long)ni * k + ki) * p, p));
            ((float*)pdb)[ki] += (float)sum;
        });
    }

    private static bool IsPointwise(in Conv2dSpec s) =>
        s.R == 1 && s.S == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0;

    /// <summary>The column workspace, at least <paramref name="floats"/> long and 64-byte aligned; grown, never shrunk.</summary>
    private unsafe float* Columns(long floats)
    {
        if (_convColumns is null || _convColumns.LongLength < floats + 16)
            _convColumns = GC.AllocateUninitializedArray<float>(checked((int)(floats + 16)), pinned: true);
        nint ptr = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_convColumns));
        return (float*)((ptr + 63) & ~(nint)63);
    }
}
