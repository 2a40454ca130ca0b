using Engine.Cuda;
using Engine.Cuda.Kernels;
using Engine.Tensors;
using R = Engine.Cli.Selftest.SelftestRig;

namespace Engine.Cli.Selftest;

/// <summary>
/// One self-test: the kernels it launches (entry points of kernels/*.cu; empty for cuBLAS), a tolerance
/// |gpu − cpu| ≤ atol + rtol·|cpu| per element, and a delegate that runs the kernels and the CpuOps twin on the same
/// inputs and returns both outputs (several outputs concatenated in the same order on both sides).
/// </summary>
internal sealed record SelftestOp(string Name, string[] Kernels, double Rtol, double Atol, Func<R, (float[] Gpu, float[] Cpu)> Run,
                                  bool NeedsCublas = false);

/// <summary>
/// The table of self-tests, one entry per op. Tolerances: what the emulator tests use where the GPU must match
/// bitwise by construction (copies, integer Philox, fixed-order sums), looser where NVRTC may contract a·b + c
/// into an FMA or CUDA's expf/logf/erff differ from the host's by an ulp or two (docs/gpu.md). Shapes are odd on
/// purpose (7, 13, 77, 100 003) so tails and partial blocks run.
/// </summary>
internal static class SelftestOps
{
    private const double Exact = 0, Ulp = 1e-6, Transcendental = 1e-5, Reduction = 1e-5;

    public static IReadOnlyList<SelftestOp> All { get; } = Build();

    private static List<SelftestOp> Build()
    {
        const int N = 100_003;
        var ops = new List<SelftestOp>
        {
            // ---- elementwise
            new("add", ["add_f32"], Exact, 0, r =>
            {
                float[] a = r.Randn(N), b = r.Randn(N);
                nint y = r.DevZeros<float>(N);
                ElementwiseKernels.AddF32(r.Gpu, y, r.Dev(a), r.Dev(b), N);
                var yc = r.HostZeros(N);
                r.Cpu.Add(yc, r.Host(a, N), r.Host(b, N));
                return (r.Get(y, N), R.Get(yc));
            }),
            new("mul", ["mul_f32"], Exact, 0, r =>
            {
                float[] a = r.Randn(N), b = r.Randn(N);
                nint y = r.DevZeros<float>(N);
                ElementwiseKernels.MulF32(r.Gpu, y, r.Dev(a), r.Dev(b), N);
                var yc = r.HostZeros(N);
                r.Cpu.Mul(yc, r.Host(a, N), r.Host(b, N));
                return (r.Get(y, N), R.Get(yc));
            }),
            new("scale", ["scale_f32"], Exact, 0, r =>
            {
                float[] a = r.Randn(N);
                nint y = r.DevZeros<float>(N);
                ElementwiseKernels.ScaleF32(r.Gpu, y, r.Dev(a), -0.75f, N);
                var yc = r.HostZeros(N);
                r.Cpu.Scale(yc, r.Host(a, N), -0.75f);
                return (r.Get(y, N), R.Get(yc));
            }),
            new("axpy", ["axpy_f32"], Exact, 0, r =>
            {
                float[] x = r.Randn(N), y0 = r.Randn(N);
                nint y = r.Dev(y0);
                ElementwiseKernels.AxpyF32(r.Gpu, y, 0.5f, r.Dev(x), N);
                var yc = r.Host(y0, N);
                r.Cpu.Axpy(yc, 0.5f, r.Host(x, N));
                return (r.Get(y, N), R.Get(yc));
            }),
            new("fill", ["fill_f32"], Exact, 0, r =>
            {
                nint y = r.DevZeros<float>(N);
                ElementwiseKernels.FillF32(r.Gpu, y, 3.25f, N);
                var yc = r.HostZeros(N);
                r.Cpu.Fill(yc, 3.25f);
                return (r.Get(y, N), R.Get(yc));
            }),
        };

        // ---- activations: forward and backward of each, on x ~ 3·N(0, 1) (covers both tails)
        Activation(ops, "silu", (g, y, x, n) => ActivationKernels.SiluForward(g, y, x, n), (g, dx, dy, x, n) => ActivationKernels.SiluBackward(g, dx, dy, x, n),
                   (c, y, x) => c.SiluForward(y, x), (c, dx, dy, x) => c.SiluBackward(dx, dy, x));
        Activation(ops, "gelu", (g, y, x, n) => ActivationKernels.GeluForward(g, y, x, n), (g, dx, dy, x, n) => ActivationKernels.GeluBackward(g, dx, dy, x, n),
                   (c, y, x) => c.GeluForward(y, x), (c, dx, dy, x) => c.GeluBackward(dx, dy, x));
        Activation(ops, "quick_gelu", (g, y, x, n) => ActivationKernels.QuickGeluForward(g, y, x, n), (g, dx, dy, x, n) => ActivationKernels.QuickGeluBackward(g, dx, dy, x, n),
                   (c, y, x) => c.QuickGeluForward(y, x), (c, dx, dy, x) => c.QuickGeluBackward(dx, dy, x));
        Activation(ops, "leaky_relu", (g, y, x, n) => ActivationKernels.LeakyReluForward(g, y, x, 0.2f, n), (g, dx, dy, x, n) => ActivationKernels.LeakyReluBackward(g, dx, dy, x, 0.2f, n),
                   (c, y, x) => c.LeakyReluForward(y, x, 0.2f), (c, dx, dy, x) => c.LeakyReluBackward(dx, dy, x, 0.2f));
        Activation(ops, "clamp", (g, y, x, n) => ActivationKernels.ClampForward(g, y, x, -1f, 1f, n), (g, dx, dy, x, n) => ActivationKernels.ClampBackward(g, dx, dy, x, -1f, 1f, n),
                   (c, y, x) => c.ClampForward(y, x, -1f, 1f), (c, dx, dy, x) => c.ClampBackward(dx, dy, x, -1f, 1f));
        {
            const int rows = 77, C = 13;
            ops.Add(new("geglu_forward", ["geglu_forward"], Transcendental, 4e-6, r =>
            {
                float[] x = r.Randn(rows * 2 * C, 2);
                nint y = r.DevZeros<float>(rows * C);
                ActivationKernels.GegluForward(r.Gpu, y, r.Dev(x), rows, C);
                var yc = r.HostZeros(rows, C);
                r.Cpu.GegluForward(yc, r.Host(x, rows, 2 * C));
                return (r.Get(y, rows * C), R.Get(yc));
            }));
            ops.Add(new("geglu_backward", ["geglu_backward"], Transcendental, 4e-6, r =>
            {
                float[] x = r.Randn(rows * 2 * C, 2), dy = r.Randn(rows * C);
                nint dx = r.DevZeros<float>(rows * 2 * C);
                ActivationKernels.GegluBackward(r.Gpu, dx, r.Dev(dy), r.Dev(x), rows, C);
                var dxc = r.HostZeros(rows, 2 * C);
                r.Cpu.GegluBackward(dxc, r.Host(dy, rows, C), r.Host(x, rows, 2 * C));
                return (r.Get(dx, rows * 2 * C), R.Get(dxc));
            }));
        }

        // ---- bias
        {
            const int rows = 77, C = 13, Nb = 3, Cc = 7, inner = 5 * 9;
            ops.Add(new("add_row_bias", ["add_row_bias"], Exact, 0, r =>
            {
                float[] y0 = r.Randn(rows * C), b = r.Randn(C);
                nint y = r.Dev(y0);
                BiasKernels.AddRowBias(r.Gpu, y, r.Dev(b), rows, C);
                var yc = r.Host(y0, rows, C);
                r.Cpu.AddRowBias(yc, r.Host(b, C));
                return (r.Get(y, rows * C), R.Get(yc));
            }));
            ops.Add(new("add_row_bias_backward", ["add_row_bias_backward"], Exact, 0, r =>
            {
                float[] dy = r.Randn(rows * C), db0 = r.Randn(C);
                nint db = r.Dev(db0);
                BiasKernels.AddRowBiasBackward(r.Gpu, db, r.Dev(dy), rows, C);
                var dbc = r.Host(db0, C);
                r.Cpu.AddRowBiasBackward(dbc, r.Host(dy, rows, C));
                return (r.Get(db, C), R.Get(dbc));
            }));
            ops.Add(new("add_channel_bias", ["add_channel_bias"], Exact, 0, r =>
            {
                float[] y0 = r.Randn(Nb * Cc * inner), b = r.Randn(Nb * Cc);
                nint y = r.Dev(y0);
                BiasKernels.AddChannelBias(r.Gpu, y, r.Dev(b), Nb * Cc, inner);
                var yc = r.Host(y0, Nb, Cc, 5, 9);
                r.Cpu.AddChannelBias(yc, r.Host(b, Nb, Cc));
                return (r.Get(y, Nb * Cc * inner), R.Get(yc));
            }));
            ops.Add(new("add_channel_bias_backward", ["add_channel_bias_backward"], Reduction, 1e-6, r =>
            {
                float[] dy = r.Randn(Nb * Cc * inner);
                nint db = r.DevZeros<float>(Nb * Cc);
                BiasKernels.AddChannelBiasBackward(r.Gpu, db, r.Dev(dy), Nb * Cc, inner);
                var dbc = r.HostZeros(Nb, Cc);
                r.Cpu.AddChannelBiasBackward(dbc, r.Host(dy, Nb, Cc, 5, 9));
                return (r.Get(db, Nb * Cc), R.Get(dbc));
            }));
        }

        // ---- layout
        ops.Add(new("transpose", ["transpose_f32"], Exact, 0, r =>
        {
            const int batch = 3, rows = 77, cols = 45;
            float[] x = r.Randn(batch * rows * cols);
            nint y = r.DevZeros<float>(batch * rows * cols);
            LayoutKernels.Transpose(r.Gpu, y, r.Dev(x), batch, rows, cols);
            var yc = r.HostZeros(batch, cols, rows);
            r.Cpu.Transpose(yc, r.Host(x, batch, rows, cols), batch, rows, cols);
            return (r.Get(y, batch * rows * cols), R.Get(yc));
        }));

        // ---- embedding, upsample, concat
        {
            const int vocab = 97, dim = 13, n = 77;
            ops.Add(new("embedding_forward", ["embedding_forward"], Exact, 0, r =>
            {
                float[] table = r.Randn(vocab * dim);
                int[] ids = r.Ints(n, vocab);
                nint y = r.DevZeros<float>(n * dim);
                ElementwiseKernels.EmbeddingForward(r.Gpu, y, r.Dev(ids), r.Dev(table), n, dim);
                var yc = r.HostZeros(n, dim);
                r.Cpu.EmbeddingForward(yc, r.HostInts(ids, n), r.Host(table, vocab, dim));
                return (r.Get(y, n * dim), R.Get(yc));
            }));
            ops.Add(new("embedding_backward", ["embedding_backward"], Exact, 0, r =>
            {
                float[] dy = r.Randn(n * dim), dt0 = r.Randn(vocab * dim);
                int[] ids = r.Ints(n, 11); // few distinct ids: rows accumulate
                nint dt = r.Dev(dt0);
                ElementwiseKernels.EmbeddingBackward(r.Gpu, dt, r.Dev(dy), r.Dev(ids), n, dim);
                var dtc = r.Host(dt0, vocab, dim);
                r.Cpu.EmbeddingBackward(dtc, r.Host(dy, n, dim), r.HostInts(ids, n));
                return (r.Get(dt, vocab * dim), R.Get(dtc));
            }));
        }
        {
            const int Nn = 2, C = 3, H = 7, W = 5;
            ops.Add(new("upsample2x_forward", ["upsample2x_forward"], Exact, 0, r =>
            {
                float[] x = r.Randn(Nn * C * H * W);
                nint y = r.DevZeros<float>(Nn * C * 4 * H * W);
                ElementwiseKernels.Upsample2xForward(r.Gpu, y, r.Dev(x), Nn * C, H, W);
                var yc = r.HostZeros(Nn, C, 2 * H, 2 * W);
                r.Cpu.Upsample2xForward(yc, r.Host(x, Nn, C, H, W));
                return (r.Get(y, Nn * C * 4 * H * W), R.Get(yc));
            }));
            ops.Add(new("upsample2x_backward", ["upsample2x_backward"], Exact, 0, r =>
            {
                float[] dy = r.Randn(Nn * C * 4 * H * W);
                nint dx = r.DevZeros<float>(Nn * C * H * W);
                ElementwiseKernels.Upsample2xBackward(r.Gpu, dx, r.Dev(dy), Nn * C, H, W);
                var dxc = r.HostZeros(Nn, C, H, W);
                r.Cpu.Upsample2xBackward(dxc, r.Host(dy, Nn, C, 2 * H, 2 * W));
                return (r.Get(dx, Nn * C * H * W), R.Get(dxc));
            }));
        }
        {
            const int Nn = 2, Ca = 3, Cb = 5, S = 7 * 3;
            ops.Add(new("concat_channels", ["concat_channels"], Exact, 0, r =>
            {
                float[] a = r.Randn(Nn * Ca * S), b = r.Randn(Nn * Cb * S);
                nint y = r.DevZeros<float>(Nn * (Ca + Cb) * S);
                ElementwiseKernels.ConcatChannels(r.Gpu, y, r.Dev(a), r.Dev(b), Nn, Ca * S, Cb * S);
                var yc = r.HostZeros(Nn, Ca + Cb, 7, 3);
                r.Cpu.ConcatChannels(yc, r.Host(a, Nn, Ca, 7, 3), r.Host(b, Nn, Cb, 7, 3));
                return (r.Get(y, Nn * (Ca + Cb) * S), R.Get(yc));
            }));
            ops.Add(new("split_channels", ["split_channels"], Exact, 0, r =>
            {
                float[] x = r.Randn(Nn * (Ca + Cb) * S);
                nint a = r.DevZeros<float>(Nn * Ca * S), b = r.DevZeros<float>(Nn * Cb * S);
                ElementwiseKernels.SplitChannels(r.Gpu, a, b, r.Dev(x), Nn, Ca * S, Cb * S);
                Tensor ac = r.HostZeros(Nn, Ca, 7, 3), bc = r.HostZeros(Nn, Cb, 7, 3);
                r.Cpu.SplitChannels(ac, bc, r.Host(x, Nn, Ca + Cb, 7, 3));
                return (R.Cat(r.Get(a, Nn * Ca * S), r.Get(b, Nn * Cb * S)), R.Cat(R.Get(ac), R.Get(bc)));
            }));
        }

        // ---- loss (n spans several 8192-element chunks and a partial one)
        {
            const int n = 3 * LossKernels.Chunk + 77;
            ops.Add(new("mse_forward", ["loss_chunk_partials", "loss_combine"], Reduction, 0, r =>
            {
                float[] x = r.Randn(n), t = r.Randn(n);
                nint loss = r.DevZeros<float>(1);
                LossKernels.MseForward(r.Gpu, loss, r.DevZeros<double>(LossKernels.PartialCount(n)), r.Dev(x), r.Dev(t), n);
                var lc = r.HostZeros(1);
                r.Cpu.MseForward(lc, r.Host(x, n), r.Host(t, n));
                return (r.Get(loss, 1), R.Get(lc));
            }));
            ops.Add(new("bce_with_logits_forward", ["loss_chunk_partials", "loss_combine"], Reduction, 0, r =>
            {
                float[] z = r.Randn(n, 3), t = r.Uniform(n, 0, 1);
                nint loss = r.DevZeros<float>(1);
                LossKernels.BceWithLogitsForward(r.Gpu, loss, r.DevZeros<double>(LossKernels.PartialCount(n)), r.Dev(z), r.Dev(t), n);
                var lc = r.HostZeros(1);
                r.Cpu.BceWithLogitsForward(lc, r.Host(z, n), r.Host(t, n));
                return (r.Get(loss, 1), R.Get(lc));
            }));
            ops.Add(new("mse_backward", ["mse_backward"], Ulp, 1e-12, r =>
            {
                float[] x = r.Randn(n), t = r.Randn(n);
                nint dx = r.DevZeros<float>(n);
                LossKernels.MseBackward(r.Gpu, dx, r.Dev(x), r.Dev(t), 0.7f, n);
                var dxc = r.HostZeros(n);
                r.Cpu.MseBackward(dxc, r.Host(x, n), r.Host(t, n), 0.7f);
                return (r.Get(dx, n), R.Get(dxc));
            }));
            ops.Add(new("bce_with_logits_backward", ["bce_with_logits_backward"], Transcendental, 1e-10, r =>
            {
                float[] z = r.Randn(n, 3), t = r.Uniform(n, 0, 1);
                nint dz = r.DevZeros<float>(n);
                LossKernels.BceWithLogitsBackward(r.Gpu, dz, r.Dev(z), r.Dev(t), 0.7f, n);
                var dzc = r.HostZeros(n);
                r.Cpu.BceWithLogitsBackward(dzc, r.Host(z, n), r.Host(t, n), 0.7f);
                return (r.Get(dz, n), R.Get(dzc));
            }));
        }

        SelftestOpsNorm.Add(ops);
        SelftestOpsTraining.Add(ops);
        SelftestOpsConv.Add(ops);
        return ops;
    }

    private delegate void GpuUnary(IKernelRunner g, nint y, nint x, long n);

    private delegate void GpuBinary(IKernelRunner g, nint dx, nint dy, nint x, long n);

    private static void Activation(List<SelftestOp> ops, string name, GpuUnary gpuForward, GpuBinary gpuBackward,
                                   Action<Engine.Cpu.CpuOps, Tensor, Tensor> cpuForward, Action<Engine.Cpu.CpuOps, Tensor, Tensor, Tensor> cpuBackward)
    {
        const int n = 10_007;
        ops.Add(new(name + "_forward", [name + "_forward"], Transcendental, 2e-6, r =>
        {
            float[] x = r.Randn(n, 3);
            nint y = r.DevZeros<float>(n);
            gpuForward(r.Gpu, y, r.Dev(x), n);
            var yc = r.HostZeros(n);
            cpuForward(r.Cpu, yc, r.Host(x, n));
            return (r.Get(y, n), R.Get(yc));
        }));
        ops.Add(new(name + "_backward", [name + "_backward"], Transcendental, 2e-6, r =>
        {
            float[] x = r.Randn(n, 3), dy = r.Randn(n);
            nint dx = r.DevZeros<float>(n);
            gpuBackward(r.Gpu, dx, r.Dev(dy), r.Dev(x), n);
            var dxc = r.HostZeros(n);
            cpuBackward(r.Cpu, dxc, r.Host(dy, n), r.Host(x, n));
            return (r.Get(dx, n), R.Get(dxc));
        }));
    }
}
