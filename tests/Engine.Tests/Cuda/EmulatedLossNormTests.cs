using Engine.Cuda.Kernels;
using Engine.Tensors;
using Engine.Tests.Testing;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/loss.cu and kernels/norm.cu through the emulator, against CpuOps (Loss, LayerNorm, GroupNorm).
/// Bitwise where kernel and twin do the same float/double operations in the same order: the loss backwards,
/// LayerNorm's dgamma/dbeta (per 32-row chunk, rows in order, then chunks in order on both sides). Sums that a
/// block adds in a tree (the loss means, the norm statistics, the row/group sums of the backwards) are in double
/// on both sides but in a different order, so they agree to ~1e-16 relative before rounding to float; outputs
/// computed from them are checked within a few float ulp (rtol 1e-6, or 2 ulp where a result is the rounded sum
/// itself). Backwards run from the CPU's saved mean/rstd so each stage is compared on its own.
/// </summary>
public class EmulatedLossNormTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;
    private const double Ulps2 = 2.4e-7;

    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    [SkippableTheory]
    [InlineData("mse")]
    [InlineData("bce")]
    public void Loss_ForwardBackward_MatchCpuOps(string kind)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int n = 2 * LossKernels.Chunk + 77; // three chunks, the last ragged: three blocks, then the ordered combine
        Tensor x = h.Tensor(OpHarness.Randn(n, 21, 3.0), n);
        Tensor t = kind == "mse" ? h.Tensor(OpHarness.Randn(n, 22), n) : h.Tensor(OpHarness.Uniform(n, 22, 0, 1), n);
        double[] partial = Zeros<double>((int)LossKernels.PartialCount(n));
        Tensor loss = h.Zeros(1), lossCpu = h.Zeros(1);
        if (kind == "mse")
        {
            LossKernels.MseForward(Emu, loss.Ptr, Ptr(partial), x.Ptr, t.Ptr, n);
            h.Ops.MseForward(lossCpu, x, t);
        }
        else
        {
            LossKernels.BceWithLogitsForward(Emu, loss.Ptr, Ptr(partial), x.Ptr, t.Ptr, n);
            h.Ops.BceWithLogitsForward(lossCpu, x, t);
        }
        Close.Assert(kind + " loss", loss.AsSpan(), lossCpu.AsSpan(), rtol: Ulps2, atol: 0);

        // The backward is element-wise; a smaller n (four blocks) keeps the emulator quick.
        const int m = 1001;
        Tensor xs = h.Tensor(OpHarness.Randn(m, 23, 3.0), m), ts = h.Tensor(OpHarness.Uniform(m, 24, 0, 1), m);
        Tensor dx = h.Zeros(m), dxCpu = h.Zeros(m);
        if (kind == "mse")
        {
            LossKernels.MseBackward(Emu, dx.Ptr, xs.Ptr, ts.Ptr, 0.7f, m);
            h.Ops.MseBackward(dxCpu, xs, ts, 0.7f);
        }
        else
        {
            LossKernels.BceWithLogitsBackward(Emu, dx.Ptr, xs.Ptr, ts.Ptr, 0.7f, m);
            h.Ops.BceWithLogitsBackward(dxCpu, xs, ts, 0.7f);
        }
        Close.Bitwise(kind + " backward", dx.AsSpan(), dxCpu.AsSpan());
    }

    [SkippableTheory]
    [InlineData(67, 45)]  // three 32-row chunks for dgamma/dbeta, the last ragged
    [InlineData(1, 300)]  // a single token; 300 channels: two column blocks in the partials
    public void LayerNorm_ForwardBackward_MatchCpuOps(int rows, int C)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const float eps = 1e-5f;
        Tensor x = h.Tensor(OpHarness.Randn(rows * C, 31, 2.0), rows, C), dy = h.Tensor(OpHarness.Randn(rows * C, 32), rows, C);
        Tensor gamma = h.Tensor(OpHarness.Randn(C, 33), C), beta = h.Tensor(OpHarness.Randn(C, 34), C);
        Tensor y = h.Zeros(rows, C), mean = h.Zeros(rows), rstd = h.Zeros(rows);
        Tensor yCpu = h.Zeros(rows, C), meanCpu = h.Zeros(rows), rstdCpu = h.Zeros(rows);
        NormKernels.LayerNormForward(Emu, y.Ptr, mean.Ptr, rstd.Ptr, x.Ptr, gamma.Ptr, beta.Ptr, rows, C, eps);
        h.Ops.LayerNormForward(yCpu, meanCpu, rstdCpu, x, gamma, beta, eps);
        Close.Assert("mean", mean.AsSpan(), meanCpu.AsSpan(), rtol: Ulps2, atol: 1e-9);
        Close.Assert("rstd", rstd.AsSpan(), rstdCpu.AsSpan(), rtol: Ulps2, atol: 0);
        Close.Assert("y", y.AsSpan(), yCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);

        double[] pg = OpHarness.Randn(C, 35), pb = OpHarness.Randn(C, 36); // parameter gradients accumulate
        Tensor dx = h.Zeros(rows, C), dg = h.Tensor(pg, C), dbt = h.Tensor(pb, C);
        Tensor dxCpu = h.Zeros(rows, C), dgCpu = h.Tensor(pg, C), dbCpu = h.Tensor(pb, C);
        double[] scratch = Zeros<double>((int)NormKernels.LayerNormScratchCount(rows, C));
        NormKernels.LayerNormBackward(Emu, dx.Ptr, dg.Ptr, dbt.Ptr, Ptr(scratch), dy.Ptr, x.Ptr, meanCpu.Ptr, rstdCpu.Ptr, gamma.Ptr, rows, C);
        h.Ops.LayerNormBackward(dxCpu, dgCpu, dbCpu, dy, x, meanCpu, rstdCpu, gamma);
        Close.Assert("dx", dx.AsSpan(), dxCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Bitwise("dgamma", dg.AsSpan(), dgCpu.AsSpan());
        Close.Bitwise("dbeta", dbt.AsSpan(), dbCpu.AsSpan());
    }

    [SkippableTheory]
    [InlineData(2, 6, 3, 5, 7)] // two channels per group, odd spatial size
    [InlineData(1, 4, 4, 3, 3)] // one channel per group, batch 1
    public void GroupNorm_ForwardBackward_MatchCpuOps(int N, int C, int groups, int H, int W)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const float eps = 1e-6f;
        int S = H * W, n = N * C * S;
        Tensor x = h.Tensor(OpHarness.Randn(n, 41, 2.0), N, C, H, W), dy = h.Tensor(OpHarness.Randn(n, 42), N, C, H, W);
        Tensor gamma = h.Tensor(OpHarness.Randn(C, 43), C), beta = h.Tensor(OpHarness.Randn(C, 44), C);
        Tensor y = h.Zeros(N, C, H, W), mean = h.Zeros(N, groups), rstd = h.Zeros(N, groups);
        Tensor yCpu = h.Zeros(N, C, H, W), meanCpu = h.Zeros(N, groups), rstdCpu = h.Zeros(N, groups);
        NormKernels.GroupNormForward(Emu, y.Ptr, mean.Ptr, rstd.Ptr, x.Ptr, gamma.Ptr, beta.Ptr, N, C, S, groups, eps);
        h.Ops.GroupNormForward(yCpu, meanCpu, rstdCpu, x, gamma, beta, groups, eps);
        Close.Assert("mean", mean.AsSpan(), meanCpu.AsSpan(), rtol: Ulps2, atol: 1e-9);
        Close.Assert("rstd", rstd.AsSpan(), rstdCpu.AsSpan(), rtol: Ulps2, atol: 0);
        Close.Assert("y", y.AsSpan(), yCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);

        double[] pg = OpHarness.Randn(C, 45), pb = OpHarness.Randn(C, 46);
        Tensor dx = h.Zeros(N, C, H, W), dg = h.Tensor(pg, C), dbt = h.Tensor(pb, C);
        Tensor dxCpu = h.Zeros(N, C, H, W), dgCpu = h.Tensor(pg, C), dbCpu = h.Tensor(pb, C);
        double[] scratch = Zeros<double>((int)NormKernels.GroupNormScratchCount(N, C));
        NormKernels.GroupNormBackward(Emu, dx.Ptr, dg.Ptr, dbt.Ptr, Ptr(scratch), dy.Ptr, x.Ptr, meanCpu.Ptr, rstdCpu.Ptr, gamma.Ptr, N, C, S, groups);
        h.Ops.GroupNormBackward(dxCpu, dgCpu, dbCpu, dy, x, meanCpu, rstdCpu, gamma, groups);
        Close.Assert("dx", dx.AsSpan(), dxCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);
        // The per-(n, c) sums come from block trees here and vector lanes there: a few double ulp apart, then the
        // same ordered sum over n and one rounding to float.
        Close.Assert("dgamma", dg.AsSpan(), dgCpu.AsSpan(), rtol: Ulps2, atol: 1e-12);
        Close.Assert("dbeta", dbt.AsSpan(), dbCpu.AsSpan(), rtol: Ulps2, atol: 1e-12);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNorm_ForwardBackward_MatchCpuOps(bool training)
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int N = 3, C = 5, H = 7, W = 11, S = H * W; // 231 values per channel: one block per channel, ragged
        const float momentum = 0.1f, eps = 1e-5f;
        int n = N * C * S;
        Tensor x = h.Tensor(OpHarness.Randn(n, 61, 2.0), N, C, H, W), dy = h.Tensor(OpHarness.Randn(n, 62), N, C, H, W);
        Tensor gamma = h.Tensor(OpHarness.Randn(C, 63), C), beta = h.Tensor(OpHarness.Randn(C, 64), C);
        double[] rm0 = OpHarness.Randn(C, 65), rv0 = OpHarness.Uniform(C, 66, 0.5, 2.0);
        Tensor rm = h.Tensor(rm0, C), rv = h.Tensor(rv0, C), rmCpu = h.Tensor(rm0, C), rvCpu = h.Tensor(rv0, C);
        Tensor y = h.Zeros(N, C, H, W), mean = h.Zeros(C), rstd = h.Zeros(C);
        Tensor yCpu = h.Zeros(N, C, H, W), meanCpu = h.Zeros(C), rstdCpu = h.Zeros(C);
        NormKernels.BatchNormForward(Emu, y.Ptr, mean.Ptr, rstd.Ptr, rm.Ptr, rv.Ptr, x.Ptr, gamma.Ptr, beta.Ptr, N, C, S, training, momentum, eps);
        h.Ops.BatchNormForward(yCpu, meanCpu, rstdCpu, rmCpu, rvCpu, x, gamma, beta, training, momentum, eps);
        Close.Assert("mean", mean.AsSpan(), meanCpu.AsSpan(), rtol: Ulps2, atol: 1e-9);
        Close.Assert("rstd", rstd.AsSpan(), rstdCpu.AsSpan(), rtol: Ulps2, atol: 0);
        Close.Assert("running mean", rm.AsSpan(), rmCpu.AsSpan(), rtol: Ulps2, atol: 1e-9);
        Close.Assert("running var", rv.AsSpan(), rvCpu.AsSpan(), rtol: Ulps2, atol: 0);
        Close.Assert("y", y.AsSpan(), yCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);
        if (!training) return; // the backward is training-mode only

        double[] pg = OpHarness.Randn(C, 67), pb = OpHarness.Randn(C, 68);
        Tensor dx = h.Zeros(N, C, H, W), dg = h.Tensor(pg, C), dbt = h.Tensor(pb, C);
        Tensor dxCpu = h.Zeros(N, C, H, W), dgCpu = h.Tensor(pg, C), dbCpu = h.Tensor(pb, C);
        NormKernels.BatchNormBackward(Emu, dx.Ptr, dg.Ptr, dbt.Ptr, dy.Ptr, x.Ptr, meanCpu.Ptr, rstdCpu.Ptr, gamma.Ptr, N, C, S);
        h.Ops.BatchNormBackward(dxCpu, dgCpu, dbCpu, dy, x, meanCpu, rstdCpu, gamma);
        Close.Assert("dx", dx.AsSpan(), dxCpu.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("dgamma", dg.AsSpan(), dgCpu.AsSpan(), rtol: Ulps2, atol: 1e-12);
        Close.Assert("dbeta", dbt.AsSpan(), dbCpu.AsSpan(), rtol: Ulps2, atol: 1e-12);
    }

    [SkippableFact]
    public void NormBackwards_RepeatBitwise()
    {
        SkipWithoutEmulator();
        using var h = new OpHarness();
        const int N = 2, C = 6, groups = 3, S = 35;
        Tensor x = h.Tensor(OpHarness.Randn(N * C * S, 51), N, C, S), dy = h.Tensor(OpHarness.Randn(N * C * S, 52), N, C, S);
        Tensor gamma = h.Tensor(OpHarness.Randn(C, 53), C), beta = h.Tensor(OpHarness.Randn(C, 54), C);
        Tensor y = h.Zeros(N, C, S), mean = h.Zeros(N, groups), rstd = h.Zeros(N, groups);
        NormKernels.GroupNormForward(Emu, y.Ptr, mean.Ptr, rstd.Ptr, x.Ptr, gamma.Ptr, beta.Ptr, N, C, S, groups, 1e-6f);
        double[] scratch = Zeros<double>((int)NormKernels.GroupNormScratchCount(N, C));
        float[][] runs = new float[2][];
        for (int run = 0; run < 2; run++)
        {
            Tensor dx = h.Zeros(N, C, S), dg = h.Zeros(C), dbt = h.Zeros(C);
            NormKernels.GroupNormBackward(Emu, dx.Ptr, dg.Ptr, dbt.Ptr, Ptr(scratch), dy.Ptr, x.Ptr, mean.Ptr, rstd.Ptr, gamma.Ptr, N, C, S, groups);
            runs[run] = [.. dx.AsSpan(), .. dg.AsSpan(), .. dbt.AsSpan()];
        }
        Close.Bitwise("GroupNorm backward, second run", runs[0], runs[1]);
    }
}
