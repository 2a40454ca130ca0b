using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>
/// conv2d as im2col + GEMM, the CPU backend's scheme (CpuOps.Conv.cs) with the column matrix in device scratch:
///   forward   y[n] (K × P)  = weight (K × CRS) · col(x[n]) (CRS × P) + bias
///   dweight  (K × CRS)     += dy[n] (K × P) · col(x[n])ᵀ                     (images in order: deterministic)
///   dx[n]                   = col2im(weightᵀ (CRS × K) · dy[n])
/// When the columns of all images fit in <see cref="MaxColumnFloats"/>, the forward and dx GEMMs run as one strided
/// batch (the weight's stride 0); otherwise image by image, and an image too large on its own is cut into bands
/// of output rows. A 1×1, stride 1, unpadded conv needs no columns at all.
/// </summary>
public sealed partial class CudaOps
{
    public void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec)
    {
        var s = spec;
        OpChecks.Conv2dForward(s, y, x, weight, bias);
        nint px = F(x, nameof(x)), pw = F(weight, nameof(weight)), py = F(y, nameof(y));
        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        long xImage = (long)s.C * s.H * s.W, yImage = (long)s.K * p, colImage = (long)crs * p;

        if (IsPointwise(s))
        {
            Gemm(py, pw, px, new GemmSpec(s.K, p, s.C, false, false, s.C, p, p, 0, xImage, yImage, s.N));
        }
        else if (s.N * colImage <= MaxColumnFloats)
        {
            nint col = Scratch(Slot.Columns, s.N * colImage * sizeof(float));
            for (int n = 0; n < s.N; n++) ConvKernels.Im2Col(_k, At(col, n * colImage), At(px, n * xImage), s, 0, s.OutH);
            Gemm(py, pw, col, new GemmSpec(s.K, p, crs, false, false, crs, p, p, 0, colImage, yImage, s.N));
        }
        else
        {
            int rows = BandRows(s);
            nint col = Scratch(Slot.Columns, (long)crs * rows * s.OutW * sizeof(float));
            for (int n = 0; n < s.N; n++)
            {
                for (int oy0 = 0; oy0 < s.OutH; oy0 += rows)
                {
                    int oy1 = Math.Min(s.OutH, oy0 + rows), pb = (oy1 - oy0) * s.OutW;
                    ConvKernels.Im2Col(_k, col, At(px, n * xImage), s, oy0, oy1);
                    // y[n][:, band] = weight · col(band): a column slice of y, so ldc = P.
                    Gemm(At(py, n * yImage + oy0 * s.OutW), pw, col, new GemmSpec(s.K, pb, crs, false, false, crs, pb, p, 0, 0, 0));
                }
            }
        }
        if (!bias.IsNone) ConvKernels.BiasForward(_k, py, F(bias, nameof(bias)), s.N, s.K, p);
    }

    public void Conv2dBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, in Conv2dSpec spec)
    {
        var s = spec;
        OpChecks.Conv2dBackward(s, dx, dweight, dbias, dy, x, weight);
        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        long xImage = (long)s.C * s.H * s.W, yImage = (long)s.K * p, colImage = (long)crs * p;
        nint pdy = F(dy, nameof(dy));

        if (!dbias.IsNone) ConvKernels.BiasBackward(_k, F(dbias, nameof(dbias)), pdy, s.N, s.K, p);
        if (dweight.IsNone && dx.IsNone) return;

        if (IsPointwise(s))
        {
            if (!dweight.IsNone)
            {
                nint px = F(x, nameof(x)), pdw = F(dweight, nameof(dweight));
                for (int n = 0; n < s.N; n++)
                    Gemm(pdw, At(pdy, n * yImage), At(px, n * xImage), GemmSpec.Dense(s.K, s.C, p, transB: true, beta: 1f));
            }
            if (!dx.IsNone)
                Gemm(F(dx, nameof(dx)), F(weight, nameof(weight)), pdy, new GemmSpec(s.C, p, s.K, true, false, s.C, p, p, 0, yImage, xImage, s.N));
            return;
        }

        if (s.N * colImage <= MaxColumnFloats)
        {
            nint col = Scratch(Slot.Columns, s.N * colImage * sizeof(float));
            if (!dweight.IsNone)
            {
                nint px = F(x, nameof(x)), pdw = F(dweight, nameof(dweight));
                for (int n = 0; n < s.N; n++) ConvKernels.Im2Col(_k, At(col, n * colImage), At(px, n * xImage), s, 0, s.OutH);
                for (int n = 0; n < s.N; n++)
                    Gemm(pdw, At(pdy, n * yImage), At(col, n * colImage), new GemmSpec(s.K, crs, p, false, true, p, p, crs, 0, 0, 0, Beta: 1f));
            }
            if (!dx.IsNone)
            {
                nint pdx = F(dx, nameof(dx));
                Gemm(col, F(weight, nameof(weight)), pdy, new GemmSpec(crs, p, s.K, true, false, crs, p, p, 0, yImage, colImage, s.N));
                for (int n = 0; n < s.N; n++) ConvKernels.Col2Im(_k, At(pdx, n * xImage), At(col, n * colImage), s, 0, s.OutH, accumulate: false);
            }
            return;
        }

        int rows = BandRows(s);
        nint band = Scratch(Slot.Columns, (long)crs * rows * s.OutW * sizeof(float));
        for (int n = 0; n < s.N; n++)
        {
            nint dyn = At(pdy, n * yImage);
            for (int oy0 = 0; oy0 < s.OutH; oy0 += rows)
            {
                int oy1 = Math.Min(s.OutH, oy0 + rows), pb = (oy1 - oy0) * s.OutW;
                if (!dweight.IsNone)
                {
                    ConvKernels.Im2Col(_k, band, At(F(x, nameof(x)), n * xImage), s, oy0, oy1);
                    Gemm(F(dweight, nameof(dweight)), At(dyn, oy0 * s.OutW), band, new GemmSpec(s.K, crs, pb, false, true, p, pb, crs, 0, 0, 0, Beta: 1f));
                }
                if (!dx.IsNone)
                {
                    Gemm(band, F(weight, nameof(weight)), At(dyn, oy0 * s.OutW), new GemmSpec(crs, pb, s.K, true, false, crs, p, pb, 0, 0, 0));
                    ConvKernels.Col2Im(_k, At(F(dx, nameof(dx)), n * xImage), band, s, oy0, oy1, accumulate: oy0 > 0);
                }
            }
        }
    }

    /// <summary>Output rows per band so that one band's columns stay within <see cref="MaxColumnFloats"/>.</summary>
    private int BandRows(in Conv2dSpec s)
    {
        long perRow = (long)s.C * s.R * s.S * s.OutW;
        return (int)Math.Clamp(MaxColumnFloats / perRow, 1, s.OutH);
    }

    private static bool IsPointwise(in Conv2dSpec s) =>
        s.R == 1 && s.S == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0;
}
