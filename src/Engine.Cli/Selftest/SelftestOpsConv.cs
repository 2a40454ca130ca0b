using Engine.Cuda.Kernels;
using Engine.Cuda.Ops;
using Engine.Ops;
using Engine.Tensors;
using R = Engine.Cli.Selftest.SelftestRig;

namespace Engine.Cli.Selftest;

/// <summary>
/// Self-tests of kernels/conv.cu (im2col, col2im, the conv bias) against plain loops, and of CudaOps itself on a GPU:
/// conv2d forward/backward and a GEMM through cuBLAS against CpuOps (those need cuBLAS, so the emulator skips them).
/// </summary>
internal static class SelftestOpsConv
{
    // A stride-2, padded, rectangular case: every branch of the index arithmetic.
    private static readonly Conv2dSpec Spec = new(2, 3, 13, 11, 5, 3, 5, 2, 1, 1, 2);

    public static void Add(List<SelftestOp> ops)
    {
        var s = Spec;
        int crs = s.C * s.R * s.S, p = s.OutH * s.OutW;
        ops.Add(new("im2col", ["im2col_f32"], 0, 0, r =>
        {
            float[] x = r.Randn(s.C * s.H * s.W);
            nint col = r.DevZeros<float>((long)crs * p);
            ConvKernels.Im2Col(r.Gpu, col, r.Dev(x), s, 0, s.OutH);
            var expected = new float[crs * p];
            for (int row = 0; row < crs; row++)
                for (int q = 0; q < p; q++)
                {
                    var (ih, iw) = Source(row, q);
                    int c = row / (s.R * s.S);
                    expected[row * p + q] = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? x[(c * s.H + ih) * s.W + iw] : 0f;
                }
            return (r.Get(col, (long)crs * p), expected);
        }));
        ops.Add(new("col2im", ["col2im_f32"], 1e-6, 1e-6, r =>
        {
            float[] col = r.Randn((long)crs * p);
            nint dx = r.DevZeros<float>(s.C * s.H * s.W);
            ConvKernels.Col2Im(r.Gpu, dx, r.Dev(col), s, 0, s.OutH, accumulate: false);
            var expected = new float[s.C * s.H * s.W];
            for (int row = 0; row < crs; row++)
                for (int q = 0; q < p; q++)
                {
                    var (ih, iw) = Source(row, q);
                    int c = row / (s.R * s.S);
                    if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) expected[(c * s.H + ih) * s.W + iw] += col[row * p + q];
                }
            return (r.Get(dx, s.C * s.H * s.W), expected);
        }));
        ops.Add(new("conv_bias", ["conv_bias_forward", "conv_bias_backward"], 1e-6, 1e-6, r =>
        {
            float[] y = r.Randn((long)s.N * s.K * p), bias = r.Randn(s.K);
            nint dy = r.Dev(y), db = r.Dev(bias);
            ConvKernels.BiasForward(r.Gpu, dy, db, s.N, s.K, p);
            ConvKernels.BiasBackward(r.Gpu, db, r.Dev(y), s.N, s.K, p); // db += Σ y (accumulates onto the bias values)
            var yExpected = (float[])y.Clone();
            var dbExpected = (float[])bias.Clone();
            for (int n = 0; n < s.N; n++)
                for (int k = 0; k < s.K; k++)
                    for (int q = 0; q < p; q++)
                    {
                        int i = (n * s.K + k) * p + q;
                        yExpected[i] += bias[k];
                        dbExpected[k] += y[i];
                    }
            return (R.Cat(r.Get(dy, y.Length), r.Get(db, s.K)), R.Cat(yExpected, dbExpected));
        }));

        // ---- CudaOps on the GPU (cuBLAS): conv2d forward and backward, FP32 and TF32 GEMMs
        ops.Add(new("cudaops_conv2d", [], 1e-4, 1e-4, r => Conv(r, tf32: false), NeedsCublas: true));
        ops.Add(new("cudaops_conv2d_tf32", [], 1e-4, Tf32Atol, r => Conv(r, tf32: true), NeedsCublas: true));
    }

    // The CudaOps conv case: 3×3, padded, two images, 16 → 24 channels.
    private static readonly Conv2dSpec ConvSpec = Spec with { N = 2, C = 16, H = 19, W = 17, K = 24, R = 3, S = 3, StrideH = 1, StrideW = 1, PadH = 1, PadW = 1 };

    /// <summary>
    /// The TF32 row's absolute tolerance, scaled to the GEMMs' operands. TF32 keeps 10 of float's 23 mantissa bits, so
    /// each operand is off by up to 2⁻¹¹ of itself (2⁻¹⁰ if the hardware truncates) and each product a·b by up to
    /// ~2⁻¹⁰·|a·b|; a sum of K such products errs like a random walk, ~√K·max|a|·max|b|·2⁻¹¹, the worst of thousands of
    /// outputs a few times that. A fixed 1e-2 ignores both K and the operands' size: for dW (K = N·OutH·OutW = 646
    /// products of N(0, 1) values) it is about one standard deviation: a simulation of round-to-nearest TF32 put 1 to 5
    /// of dW's 3456 values outside it, a FAIL on a correct GPU. So:
    /// atol = 3·√K·max|a|·max|b|·2⁻¹⁰ with the largest K of the three GEMMs (forward C·R·S, dX K·R·S, dW N·OutH·OutW)
    /// and inputs uniform in [−1, 1] (max|a|·max|b| ≤ 1): ≈ 0.075, against outputs of size √K/3 ≈ 4…8.5, so a wrong
    /// index or operand still fails by far.
    /// </summary>
    private static double Tf32Atol
    {
        get
        {
            var s = ConvSpec;
            int kMax = Math.Max(s.C * s.R * s.S, Math.Max(s.K * s.R * s.S, s.N * s.OutH * s.OutW));
            return 3 * Math.Sqrt(kMax) * Math.Pow(2, -10);
        }
    }

    /// <summary>The input pixel (ih, iw) that column row <paramref name="row"/>, output position q reads.</summary>
    private static (int Ih, int Iw) Source(int row, int q)
    {
        var s = Spec;
        int r = row / s.S % s.R, sx = row % s.S, oh = q / s.OutW, ow = q % s.OutW;
        return (oh * s.StrideH - s.PadH + r, ow * s.StrideW - s.PadW + sx);
    }

    private static (float[] Gpu, float[] Cpu) Conv(R r, bool tf32)
    {
        var ctx = r.Device.Cuda ?? throw new InvalidOperationException("CudaOps needs a GPU here");
        var s = ConvSpec;
        // Uniform in [−1, 1]: bounded operands, which the TF32 tolerance is computed from (Tf32Atol).
        float[] x = r.Uniform(s.XShape.Numel, -1, 1), w = r.Uniform(s.WeightShape.Numel, -1, 1), b = r.Uniform(s.K, -1, 1);
        float[] dy = r.Uniform(s.YShape.Numel, -1, 1);
        var memory = new CudaDeviceMemory(ctx);
        var gemm = new CublasGemmEngine(new Engine.Cuda.CublasHandle(ctx, tf32));
        using var cuda = new CudaOps(ctx, gemm, memory, ctx.Name, owned: gemm);
        using var arena = new DeviceArena(memory, 16L << 20);
        Tensor Up(float[] data, Shape shape)
        {
            var t = arena.Alloc(shape, zero: false);
            cuda.CopyFromHost(t, data);
            return t;
        }
        float[] Down(Tensor t)
        {
            var a = new float[t.Numel];
            cuda.CopyToHost(a, t);
            return a;
        }
        Tensor gx = Up(x, s.XShape), gw = Up(w, s.WeightShape), gy = arena.Alloc(s.YShape), gdx = arena.Alloc(s.XShape);
        Tensor gdw = arena.Alloc(s.WeightShape), gdb = arena.Alloc(new Shape(s.K));
        cuda.Conv2dForward(gy, gx, gw, Up(b, new Shape(s.K)), s);
        cuda.Conv2dBackward(gdx, gdw, gdb, Up(dy, s.YShape), gx, gw, s);
        var gpu = R.Cat(Down(gy), Down(gdx), Down(gdw), Down(gdb));

        Tensor cx = r.Host(x, s.XShape.ToArray()), cw = r.Host(w, s.WeightShape.ToArray()), cy = r.HostZeros(s.YShape.ToArray());
        Tensor cdx = r.HostZeros(s.XShape.ToArray()), cdw = r.HostZeros(s.WeightShape.ToArray()), cdb = r.HostZeros(s.K);
        r.Cpu.Conv2dForward(cy, cx, cw, r.Host(b, s.K), s);
        r.Cpu.Conv2dBackward(cdx, cdw, cdb, r.Host(dy, s.YShape.ToArray()), cx, cw, s);
        return (gpu, R.Cat(R.Get(cy), R.Get(cdx), R.Get(cdw), R.Get(cdb)));
    }
}
