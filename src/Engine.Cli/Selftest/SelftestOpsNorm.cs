using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;
using R = Engine.Cli.Selftest.SelftestRig;

namespace Engine.Cli.Selftest;

/// <summary>Self-tests of the normalizations (norm.cu) and the segmented reductions (reduce.cu).</summary>
internal static class SelftestOpsNorm
{
    private const double Norm = 1e-5;

    public static void Add(List<SelftestOp> ops)
    {
        // ---- LayerNorm: 77 rows (three 32-row chunks, the last partial), C = 13
        const int rows = 77, C = 13;
        const float eps = 1e-5f;
        ops.Add(new("layernorm_forward", ["layernorm_forward"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(rows * C, 2), g = r.Randn(C), b = r.Randn(C);
            nint y = r.DevZeros<float>(rows * C), mean = r.DevZeros<float>(rows), rstd = r.DevZeros<float>(rows);
            NormKernels.LayerNormForward(r.Gpu, y, mean, rstd, r.Dev(x), r.Dev(g), r.Dev(b), rows, C, eps);
            Tensor yc = r.HostZeros(rows, C), mc = r.HostZeros(rows), rc = r.HostZeros(rows);
            r.Cpu.LayerNormForward(yc, mc, rc, r.Host(x, rows, C), r.Host(g, C), r.Host(b, C), eps);
            return (R.Cat(r.Get(y, rows * C), r.Get(mean, rows), r.Get(rstd, rows)), R.Cat(R.Get(yc), R.Get(mc), R.Get(rc)));
        }));
        ops.Add(new("layernorm_backward", ["layernorm_backward_dx", "layernorm_backward_param_partials", "layernorm_backward_param_combine"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(rows * C, 2), g = r.Randn(C), b = r.Randn(C), dy = r.Randn(rows * C), dg0 = r.Randn(C), db0 = r.Randn(C);
            Tensor xc = r.Host(x, rows, C), gc = r.Host(g, C), mc = r.HostZeros(rows), rc = r.HostZeros(rows);
            r.Cpu.LayerNormForward(r.HostZeros(rows, C), mc, rc, xc, gc, r.Host(b, C), eps);
            nint dx = r.DevZeros<float>(rows * C), dg = r.Dev(dg0), db = r.Dev(db0);
            NormKernels.LayerNormBackward(r.Gpu, dx, dg, db, r.DevZeros<double>(NormKernels.LayerNormScratchCount(rows, C)),
                                          r.Dev(dy), r.Dev(x), r.Dev(mc), r.Dev(rc), r.Dev(g), rows, C);
            Tensor dxc = r.HostZeros(rows, C), dgc = r.Host(dg0, C), dbc = r.Host(db0, C);
            r.Cpu.LayerNormBackward(dxc, dgc, dbc, r.Host(dy, rows, C), xc, mc, rc, gc);
            return (R.Cat(r.Get(dx, rows * C), r.Get(dg, C), r.Get(db, C)), R.Cat(R.Get(dxc), R.Get(dgc), R.Get(dbc)));
        }));

        // ---- GroupNorm: N = 2, C = 12 in 4 groups, 7×5 spatial
        const int N = 2, Cg = 12, H = 7, W = 5, S = H * W, groups = 4;
        ops.Add(new("groupnorm_forward", ["groupnorm_forward"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(N * Cg * S, 2), g = r.Randn(Cg), b = r.Randn(Cg);
            nint y = r.DevZeros<float>(N * Cg * S), mean = r.DevZeros<float>(N * groups), rstd = r.DevZeros<float>(N * groups);
            NormKernels.GroupNormForward(r.Gpu, y, mean, rstd, r.Dev(x), r.Dev(g), r.Dev(b), N, Cg, S, groups, eps);
            Tensor yc = r.HostZeros(N, Cg, H, W), mc = r.HostZeros(N, groups), rc = r.HostZeros(N, groups);
            r.Cpu.GroupNormForward(yc, mc, rc, r.Host(x, N, Cg, H, W), r.Host(g, Cg), r.Host(b, Cg), groups, eps);
            return (R.Cat(r.Get(y, N * Cg * S), r.Get(mean, N * groups), r.Get(rstd, N * groups)), R.Cat(R.Get(yc), R.Get(mc), R.Get(rc)));
        }));
        ops.Add(new("groupnorm_backward", ["groupnorm_backward_channel_sums", "groupnorm_backward_dx", "groupnorm_backward_params"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(N * Cg * S, 2), g = r.Randn(Cg), b = r.Randn(Cg), dy = r.Randn(N * Cg * S), dg0 = r.Randn(Cg), db0 = r.Randn(Cg);
            Tensor xc = r.Host(x, N, Cg, H, W), gc = r.Host(g, Cg), mc = r.HostZeros(N, groups), rc = r.HostZeros(N, groups);
            r.Cpu.GroupNormForward(r.HostZeros(N, Cg, H, W), mc, rc, xc, gc, r.Host(b, Cg), groups, eps);
            nint dx = r.DevZeros<float>(N * Cg * S), dg = r.Dev(dg0), db = r.Dev(db0);
            NormKernels.GroupNormBackward(r.Gpu, dx, dg, db, r.DevZeros<double>(NormKernels.GroupNormScratchCount(N, Cg)),
                                          r.Dev(dy), r.Dev(x), r.Dev(mc), r.Dev(rc), r.Dev(g), N, Cg, S, groups);
            Tensor dxc = r.HostZeros(N, Cg, H, W), dgc = r.Host(dg0, Cg), dbc = r.Host(db0, Cg);
            r.Cpu.GroupNormBackward(dxc, dgc, dbc, r.Host(dy, N, Cg, H, W), xc, mc, rc, gc, groups);
            return (R.Cat(r.Get(dx, N * Cg * S), r.Get(dg, Cg), r.Get(db, Cg)), R.Cat(R.Get(dxc), R.Get(dgc), R.Get(dbc)));
        }));

        // ---- BatchNorm2d (training: batch statistics and running-statistics update)
        const int Cb = 7;
        ops.Add(new("batchnorm_forward", ["batchnorm_forward"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(N * Cb * S, 2), g = r.Randn(Cb), b = r.Randn(Cb), rm0 = r.Randn(Cb), rv0 = r.Uniform(Cb, 0.5, 2);
            nint y = r.DevZeros<float>(N * Cb * S), mean = r.DevZeros<float>(Cb), rstd = r.DevZeros<float>(Cb), rm = r.Dev(rm0), rv = r.Dev(rv0);
            NormKernels.BatchNormForward(r.Gpu, y, mean, rstd, rm, rv, r.Dev(x), r.Dev(g), r.Dev(b), N, Cb, S, true, 0.1f, eps);
            Tensor yc = r.HostZeros(N, Cb, H, W), mc = r.HostZeros(Cb), rc = r.HostZeros(Cb), rmc = r.Host(rm0, Cb), rvc = r.Host(rv0, Cb);
            r.Cpu.BatchNormForward(yc, mc, rc, rmc, rvc, r.Host(x, N, Cb, H, W), r.Host(g, Cb), r.Host(b, Cb), true, 0.1f, eps);
            return (R.Cat(r.Get(y, N * Cb * S), r.Get(mean, Cb), r.Get(rstd, Cb), r.Get(rm, Cb), r.Get(rv, Cb)),
                    R.Cat(R.Get(yc), R.Get(mc), R.Get(rc), R.Get(rmc), R.Get(rvc)));
        }));
        ops.Add(new("batchnorm_backward", ["batchnorm_backward"], Norm, 1e-5, r =>
        {
            float[] x = r.Randn(N * Cb * S, 2), g = r.Randn(Cb), b = r.Randn(Cb), dy = r.Randn(N * Cb * S), dg0 = r.Randn(Cb), db0 = r.Randn(Cb);
            Tensor xc = r.Host(x, N, Cb, H, W), gc = r.Host(g, Cb), mc = r.HostZeros(Cb), rc = r.HostZeros(Cb);
            r.Cpu.BatchNormForward(r.HostZeros(N, Cb, H, W), mc, rc, r.HostZeros(Cb), r.HostZeros(Cb), xc, gc, r.Host(b, Cb), true, 0.1f, eps);
            nint dx = r.DevZeros<float>(N * Cb * S), dg = r.Dev(dg0), db = r.Dev(db0);
            NormKernels.BatchNormBackward(r.Gpu, dx, dg, db, r.Dev(dy), r.Dev(x), r.Dev(mc), r.Dev(rc), r.Dev(g), N, Cb, S);
            Tensor dxc = r.HostZeros(N, Cb, H, W), dgc = r.Host(dg0, Cb), dbc = r.Host(db0, Cb);
            r.Cpu.BatchNormBackward(dxc, dgc, dbc, r.Host(dy, N, Cb, H, W), xc, mc, rc, gc);
            return (R.Cat(r.Get(dx, N * Cb * S), r.Get(dg, Cb), r.Get(db, Cb)), R.Cat(R.Get(dxc), R.Get(dgc), R.Get(dbc)));
        }));

        // ---- segmented reductions: Σx² and Σa·b per segment (sizes cross the 8192 chunk; an empty segment)
        long[] sizes = [20_000, 13, 0, 1, 8192];
        ops.Add(new("segment_sum_squares", ["reduce_chunk_partials", "reduce_segment_combine"], Norm, 0, r => Segmented(r, sizes, square: true)));
        ops.Add(new("segment_dot", ["reduce_chunk_partials", "reduce_segment_combine"], Norm, 0, r => Segmented(r, sizes, square: false)));
        ops.Add(new("sum", ["reduce_chunk_partials", "reduce_segment_combine"], Norm, 1e-4, r =>
        {
            const int n = 30_011;
            float[] x = r.Randn(n);
            var table = new ChunkTable(SegmentTable.FromSizes([n]));
            nint partial = r.DevZeros<double>(table.Count), result = r.DevZeros<float>(1);
            ReduceKernels.ReduceChunkPartials(r.Gpu, partial, r.Dev(x), 0, r.Dev(table.ChunkBegin), r.Dev(table.ChunkEnd), table.Count, ReduceKernels.ModeSum);
            ReduceKernels.ReduceSegmentCombine(r.Gpu, result, partial, r.Dev(table.SegFirstChunk), 1);
            var rc = r.HostZeros(1);
            r.Cpu.Sum(rc, r.Host(x, n));
            return (r.Get(result, 1), R.Get(rc));
        }));
    }

    private static (float[] Gpu, float[] Cpu) Segmented(R r, long[] sizes, bool square)
    {
        var segments = SegmentTable.FromSizes(sizes);
        var table = new ChunkTable(segments);
        int n = (int)segments.Total, nseg = segments.Count;
        float[] a = r.Randn(n), b = r.Randn(n);
        nint da = r.Dev(a), partial = r.DevZeros<double>(table.Count), result = r.DevZeros<float>(nseg);
        ReduceKernels.ReduceChunkPartials(r.Gpu, partial, da, square ? da : r.Dev(b), r.Dev(table.ChunkBegin), r.Dev(table.ChunkEnd), table.Count, ReduceKernels.ModeDot);
        ReduceKernels.ReduceSegmentCombine(r.Gpu, result, partial, r.Dev(table.SegFirstChunk), nseg);
        var rc = r.HostZeros(nseg);
        if (square) r.Cpu.SegmentSumSquares(rc, r.Host(a, n), segments);
        else r.Cpu.SegmentDot(rc, r.Host(a, n), r.Host(b, n), segments);
        return (r.Get(result, nseg), R.Get(rc));
    }
}
