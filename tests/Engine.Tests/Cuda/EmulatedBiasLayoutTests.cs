using Engine.Cuda.Kernels;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/bias.cu, kernels/layout.cu and the embedding/upsample/concat/split kernels of kernels/elementwise.cu
/// through the emulator, against their CPU twins (CpuOps.Bias, CpuOps.Layout, CpuOps.Elementwise), on small odd
/// shapes that span several blocks. Everything is bitwise (copies, one float add per element, or the same
/// additions in the same order) except the channel-bias backward, whose block tree sums in a different order
/// than the CPU's loop (both in double, rounded once: at most one float rounding apart, tolerance 2 ulp).
/// </summary>
public class EmulatedBiasLayoutTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;
    private const double Ulps2 = 2.4e-7;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableFact]
    public void RowBias_ForwardBackward_MatchCpuOpsBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int rows = 7, C = 300; // 2100 elements: 9 blocks forward; 300 columns: 2 blocks backward
        double[] y0 = OpHarness.Randn(rows * C, 1);
        Tensor bias = h.Tensor(OpHarness.Randn(C, 2), C), dy = h.Tensor(OpHarness.Randn(rows * C, 3), rows, C);
        Tensor y = h.Tensor(y0, rows, C), yCpu = h.Tensor(y0, rows, C);
        BiasKernels.AddRowBias(Emu, y.Ptr, bias.Ptr, rows, C);
        h.Ops.AddRowBias(yCpu, bias);
        Close.Bitwise("y + bias", y.AsSpan(), yCpu.AsSpan());

        double[] prior = OpHarness.Randn(C, 4); // the backward accumulates into dbias
        Tensor db = h.Tensor(prior, C), dbCpu = h.Tensor(prior, C);
        BiasKernels.AddRowBiasBackward(Emu, db.Ptr, dy.Ptr, rows, C);
        h.Ops.AddRowBiasBackward(dbCpu, dy);
        Close.Bitwise("dbias", db.AsSpan(), dbCpu.AsSpan());
    }

    [SkippableFact]
    public void ChannelBias_ForwardBackward_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int N = 2, C = 3, H = 7, W = 11;
        double[] y0 = OpHarness.Randn(N * C * H * W, 5);
        Tensor b = h.Tensor(OpHarness.Randn(N * C, 6), N, C), dy = h.Tensor(OpHarness.Randn(N * C * H * W, 7), N, C, H, W);
        Tensor y = h.Tensor(y0, N, C, H, W), yCpu = h.Tensor(y0, N, C, H, W);
        BiasKernels.AddChannelBias(Emu, y.Ptr, b.Ptr, N * C, H * W);
        h.Ops.AddChannelBias(yCpu, b);
        Close.Bitwise("y + b", y.AsSpan(), yCpu.AsSpan());

        Tensor db = h.Tensor(OpHarness.Randn(N * C, 8), N, C), dbCpu = h.Zeros(N, C); // overwritten, not accumulated
        BiasKernels.AddChannelBiasBackward(Emu, db.Ptr, dy.Ptr, N * C, H * W);
        h.Ops.AddChannelBiasBackward(dbCpu, dy);
        Close.Assert("db", db.AsSpan(), dbCpu.AsSpan(), rtol: Ulps2, atol: 0);
    }

    [SkippableTheory]
    [InlineData(2, 37, 45)] // ragged tiles on both axes, 2×2 tiles per item
    [InlineData(1, 1, 33)]  // a single row
    [InlineData(3, 32, 1)]  // a single column, an exact tile
    public void Transpose_MatchesCpuOpsBitwise(int batch, int rows, int cols)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        Tensor x = h.Tensor(OpHarness.Randn(batch * rows * cols, 9), batch, rows, cols);
        Tensor y = h.Zeros(batch, cols, rows), yCpu = h.Zeros(batch, cols, rows);
        LayoutKernels.Transpose(Emu, y.Ptr, x.Ptr, batch, rows, cols);
        h.Ops.Transpose(yCpu, x, batch, rows, cols);
        Close.Bitwise("transpose", y.AsSpan(), yCpu.AsSpan());
    }

    [SkippableFact]
    public void Embedding_ForwardBackward_MatchCpuOpsBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int vocab = 11, dim = 300;
        int[] idList = [3, 0, 10, 3, 7, 3, 0]; // repeats: the backward adds them in id order
        Tensor ids = h.Ints(idList, idList.Length), table = h.Tensor(OpHarness.Randn(vocab * dim, 10), vocab, dim);
        Tensor dy = h.Tensor(OpHarness.Randn(idList.Length * dim, 11), idList.Length, dim);
        Tensor y = h.Zeros(idList.Length, dim), yCpu = h.Zeros(idList.Length, dim);
        ElementwiseKernels.EmbeddingForward(Emu, y.Ptr, ids.Ptr, table.Ptr, idList.Length, dim);
        h.Ops.EmbeddingForward(yCpu, ids, table);
        Close.Bitwise("embedding", y.AsSpan(), yCpu.AsSpan());

        double[] prior = OpHarness.Randn(vocab * dim, 12); // accumulates into the table gradient
        Tensor dt = h.Tensor(prior, vocab, dim), dtCpu = h.Tensor(prior, vocab, dim);
        ElementwiseKernels.EmbeddingBackward(Emu, dt.Ptr, dy.Ptr, ids.Ptr, idList.Length, dim);
        h.Ops.EmbeddingBackward(dtCpu, dy, ids);
        Close.Bitwise("dtable", dt.AsSpan(), dtCpu.AsSpan());
    }

    [SkippableFact]
    public void Upsample2x_ForwardBackward_MatchCpuOpsBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int N = 2, C = 3, H = 5, W = 7;
        Tensor x = h.Tensor(OpHarness.Randn(N * C * H * W, 13), N, C, H, W);
        Tensor dy = h.Tensor(OpHarness.Randn(N * C * 4 * H * W, 14), N, C, 2 * H, 2 * W);
        Tensor y = h.Zeros(N, C, 2 * H, 2 * W), yCpu = h.Zeros(N, C, 2 * H, 2 * W);
        Tensor dx = h.Zeros(N, C, H, W), dxCpu = h.Zeros(N, C, H, W);
        ElementwiseKernels.Upsample2xForward(Emu, y.Ptr, x.Ptr, N * C, H, W);
        ElementwiseKernels.Upsample2xBackward(Emu, dx.Ptr, dy.Ptr, N * C, H, W);
        h.Ops.Upsample2xForward(yCpu, x);
        h.Ops.Upsample2xBackward(dxCpu, dy);
        Close.Bitwise("upsample", y.AsSpan(), yCpu.AsSpan());
        Close.Bitwise("upsample backward", dx.AsSpan(), dxCpu.AsSpan());
    }

    [SkippableFact]
    public void ConcatSplitChannels_MatchCpuOpsBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int N = 2, Ca = 3, Cb = 2, H = 5, W = 7, S = H * W;
        Tensor a = h.Tensor(OpHarness.Randn(N * Ca * S, 15), N, Ca, H, W), b = h.Tensor(OpHarness.Randn(N * Cb * S, 16), N, Cb, H, W);
        Tensor y = h.Zeros(N, Ca + Cb, H, W), yCpu = h.Zeros(N, Ca + Cb, H, W);
        ElementwiseKernels.ConcatChannels(Emu, y.Ptr, a.Ptr, b.Ptr, N, Ca * S, Cb * S);
        h.Ops.ConcatChannels(yCpu, a, b);
        Close.Bitwise("concat", y.AsSpan(), yCpu.AsSpan());

        Tensor x = h.Tensor(OpHarness.Randn(N * (Ca + Cb) * S, 17), N, Ca + Cb, H, W);
        Tensor sa = h.Zeros(N, Ca, H, W), sb = h.Zeros(N, Cb, H, W), saCpu = h.Zeros(N, Ca, H, W), sbCpu = h.Zeros(N, Cb, H, W);
        ElementwiseKernels.SplitChannels(Emu, sa.Ptr, sb.Ptr, x.Ptr, N, Ca * S, Cb * S);
        h.Ops.SplitChannels(saCpu, sbCpu, x);
        Close.Bitwise("split a", sa.AsSpan(), saCpu.AsSpan());
        Close.Bitwise("split b", sb.AsSpan(), sbCpu.AsSpan());

        // b not needed: only a is written.
        Tensor onlyA = h.Zeros(N, Ca, H, W);
        ElementwiseKernels.SplitChannels(Emu, onlyA.Ptr, 0, x.Ptr, N, Ca * S, Cb * S);
        Close.Bitwise("split a alone", onlyA.AsSpan(), saCpu.AsSpan());
    }
}
