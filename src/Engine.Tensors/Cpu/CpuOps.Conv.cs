using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Ops;
using Engine.Ops.Profiling;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// conv2d as GEMM, per group of g images n0..n0+g (P = OutH·OutW, CRS = C·R·S, the images' columns side by side):
///   forward   Y (K × g·P)      = weight (K × CRS) · col(x[n0..]) (CRS × g·P), scattered to y[n] (+ bias)
///   dweight  (K × CRS)        += dY (K × g·P) · col(x[n0..])ᵀ (g·P × CRS)       (groups in order)
///   dx[n]                      = col2im( weightᵀ (CRS × K) · dY (K × g·P) )
///   dbias[k]                  += Σ_{n,p} dy[n, k, p]
/// A small image (P of 64 or 16 in a UNet's lower levels, 4 in a PatchGAN's last layers) alone makes a GEMM too
/// narrow to run near the micro-kernel's rate, so g images are batched up to about <see cref="GroupColumns"/>
/// columns. Forward and dx then run the groups in parallel lanes (each with its own workspace and a GEMM on its
/// share of the threads): a world-sized conv's GEMMs are too small to split well by themselves. dweight sums over
/// the groups in order, its GEMM on all threads. g follows from the shape alone and the GEMM's arithmetic per
/// element does not depend on its width or split, so every result is the same for any thread count.
/// A 1×1, stride 1, unpadded conv skips im2col: x[n] already is its column matrix (C × H·W).
/// Images whose column matrix exceeds <see cref="MaxColumnFloats"/> (VAE at full resolution) are unfolded alone in
/// bands of output rows. The workspace is grown once and kept on this CpuOps (a pinned managed array, so the GC
/// frees it with the backend); ops on one CpuOps must therefore not run concurrently.
/// </summary>
public sealed partial class CpuOps
{
    /// <summary>GEMM columns a group of images aims at: enough to amortize packing over a few B panels.</summary>
    internal const int GroupColumns = 512;

    /// <summary>Most workspace floats per parallel lane (16 MiB); larger groups run one at a time.</summary>
    internal const long LaneFloats = 4L << 20;

    private static readonly ParallelOptions OneThread = new() { MaxDegreeOfParallelism = 1 };

    private float[]? _convColumns;

    // im2col/col2im time (Stopwatch ticks; lanes' summed, then divided by the lanes) and bytes, for IPhaseTimer.
    private long _im2colTicks, _laneTicks;
    private double _im2colBytes;

    (double Seconds, double Bytes) IPhaseTimer.Im2Col => ((double)_im2colTicks / Stopwatch.Frequency, _im2colBytes);

    /// <summary>Charges <paramref name="floats"/> column floats (each written once and read once) to im2col.</summary>
    private void Im2ColBytes(double floats) => _im2colBytes += 8 * floats;

    /// <summary>Adds the ticks since <paramref name="start"/> to the current lane total (lanes run concurrently).</summary>
    private void LaneIm2Col(long start) => Interlocked.Add(ref _laneTicks, Stopwatch.GetTimestamp() - start);

    /// <summary>How a conv's batch is cut: g images per group, and lanes running groups side by side.</summary>
    private readonly record struct ConvPlan(int Images, int Groups, int Lanes, long LaneStride, ParallelOptions Inner);

    private ConvPlan Plan(in Conv2dSpec s)
    {
        long p = (long)s.OutH * s.OutW, crs = (long)s.C * s.R * s.S;
        int g = (int)Math.Clamp(Math.Min((GroupColumns + p - 1) / p, MaxColumnFloats / (crs * p)), 1, s.N);
        int groups = (s.N + g - 1) / g;
        long laneFloats = (crs + s.K) * g * p;
        // Lanes only for small groups, and no more of them than MaxColumnFloats holds (many-core machines).
        int lanes = laneFloats <= LaneFloats ? (int)Math.Clamp(MaxColumnFloats / laneFloats, 1, Math.Min(Threads, groups)) : 1;
        var inner = lanes == 1 ? Workers : Threads / lanes > 1 ? new ParallelOptions { MaxDegreeOfParallelism = Threads / lanes } : OneThread;
        return new ConvPlan(g, groups, lanes, (laneFloats + 15) & ~15L, inner);
    }

    /// <summary>body(lane workspace, first image, images) for every group; lanes take contiguous runs of groups.</summary>
    private unsafe void ForGroups(in ConvPlan plan, int n, bool parallel, Action<nint, int, int> body)
    {
        var pl = plan;
        int lanes = parallel ? pl.Lanes : 1;
        nint ws = (nint)Columns(pl.LaneStride * lanes);
        _laneTicks = 0;
        if (lanes == 1)
        {
            for (int gi = 0; gi < pl.Groups; gi++) body(ws, gi * pl.Images, Math.Min(pl.Images, n - gi * pl.Images));
        }
        else
        {
            Parallel.For(0, lanes, Workers, lane =>
            {
                nint mine = ws + (nint)(lane * pl.LaneStride * sizeof(float));
                for (int gi = lane * pl.Groups / lanes; gi < (lane + 1) * pl.Groups / lanes; gi++)
                    body(mine, gi * pl.Images, Math.Min(pl.Images, n - gi * pl.Images));
            });
        }
        _im2colTicks += _laneTicks / lanes;
    }

    public unsafe void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec)
    {
        var s = spec;
        OpChecks.Conv2dForward(s, y, x, weight, bias);

        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        long xImage = (long)s.C * s.H * s.W, yImage = (long)s.K * p;
        nint px = x.Ptr, pw = weight.Ptr, py = y.Ptr, pb = bias.IsNone ? 0 : bias.Ptr;
        if (IsPointwise(s))
        {
            // One weight against every image: a strided batch with StrideA = 0.
            Gemm((float*)py, (float*)pw, (float*)px, new GemmSpec(s.K, p, s.C, false, false, s.C, p, p, 0, xImage, yImage, s.N));
            if (pb != 0) AddBias((float*)py, (float*)py, (float*)pb, s.N * s.K, s.K, p);
        }
        else if (BandRows(s) < s.OutH)
        {
            ForwardBands(s, (float*)py, (float*)px, (float*)pw);
            if (pb != 0) AddBias((float*)py, (float*)py, (float*)pb, s.N * s.K, s.K, p);
        }
        else
        {
            var plan = Plan(s);
            var inner = plan.Inner;
            ForGroups(plan, s.N, parallel: true, (ws, n0, count) =>
            {
                long ld = (long)count * p;
                float* col = (float*)ws, prod = col + crs * ld;
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                    Im2Col.Unfold(col + i * p, ld, (float*)px + (n0 + i) * xImage, s, 0, s.OutH, inner);
                LaneIm2Col(t0);
                float* yn = (float*)py + n0 * yImage;
                if (count == 1)
                {
                    Gemm(yn, (float*)pw, col, GemmSpec.Dense(s.K, p, crs), inner);
                    if (pb != 0) AddBias(yn, yn, (float*)pb, s.K, s.K, p);
                    return;
                }
                // Y (K × g·P), then each image's K × P block to y[n] with the bias added on the way.
                Gemm(prod, (float*)pw, col, GemmSpec.Dense(s.K, (int)ld, crs), inner);
                t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    for (int k = 0; k < s.K; k++)
                    {
                        var src = new ReadOnlySpan<float>(prod + k * ld + i * p, p);
                        var dst = new Span<float>(yn + i * yImage + (long)k * p, p);
                        if (pb != 0) System.Numerics.Tensors.TensorPrimitives.Add(src, ((float*)pb)[k], dst);
                        else src.CopyTo(dst);
                    }
                }
                LaneIm2Col(t0);
            });
            Im2ColBytes((double)s.N * p * (crs + (plan.Images > 1 ? s.K : 0)));
        }
    }

    /// <summary>y[row] = x[row] + bias[row % channels] over rows of <paramref name="p"/> floats.</summary>
    private static unsafe void AddBias(float* y, float* x, float* bias, int rows, int channels, int p)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = new Span<float>(y + (long)r * p, p);
            System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(x + (long)r * p, p), bias[r % channels], row);
        }
    }

    private unsafe void ForwardBands(in Conv2dSpec s, float* py, float* px, float* pw)
    {
        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S, rows = BandRows(s);
        float* col = Columns((long)crs * rows * s.OutW);
        for (int n = 0; n < s.N; n++)
        {
            for (int oy0 = 0; oy0 < s.OutH; oy0 += rows)
            {
                int oy1 = Math.Min(s.OutH, oy0 + rows), pb = (oy1 - oy0) * s.OutW;
                long t0 = Stopwatch.GetTimestamp();
                Im2Col.Unfold(col, pb, px + (long)n * s.C * s.H * s.W, s, oy0, oy1, Workers);
                _im2colTicks += Stopwatch.GetTimestamp() - t0;
                Im2ColBytes((double)crs * pb);
                // y[n][:, band] = weight · col(band): a column slice of y, so ldc = P.
                Gemm(py + (long)n * s.K * p + oy0 * s.OutW, pw, col,
                    new GemmSpec(s.K, pb, crs, false, false, crs, pb, p, 0, 0, 0));
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
        if (BandRows(s) < s.OutH)
        {
            BackwardBands(s, dx, dweight, pdy, x, weight);
            return;
        }

        var plan = Plan(s);
        nint pdyn = (nint)pdy;
        if (!dweight.IsNone)
        {
            // dweight += dY · colᵀ, one group after another (the order of the sum), each GEMM on all threads.
            nint px = x.Ptr, pdw = dweight.Ptr;
            ForGroups(plan, s.N, parallel: false, (ws, n0, count) =>
            {
                long ld = (long)count * p;
                float* col = (float*)ws;
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                    Im2Col.Unfold(col + i * p, ld, (float*)px + (n0 + i) * xImage, s, 0, s.OutH, Workers);
                float* g = GatherImages((float*)pdyn + n0 * yImage, col + crs * ld, count, s.K, p);
                LaneIm2Col(t0);
                Gemm((float*)pdw, g, col, new GemmSpec(s.K, crs, (int)ld, false, true, (int)ld, (int)ld, crs, 0, 0, 0, Beta: 1f));
            });
            Im2ColBytes((double)s.N * p * (crs + (plan.Images > 1 ? s.K : 0)));
        }
        if (!dx.IsNone)
        {
            // col = weightᵀ · dY, summed back onto each image's pixels.
            nint pdx = dx.Ptr, pw = weight.Ptr;
            var inner = plan.Inner;
            ForGroups(plan, s.N, parallel: true, (ws, n0, count) =>
            {
                long ld = (long)count * p;
                float* col = (float*)ws;
                long t0 = Stopwatch.GetTimestamp();
                float* g = GatherImages((float*)pdyn + n0 * yImage, col + crs * ld, count, s.K, p);
                LaneIm2Col(t0);
                Gemm(col, (float*)pw, g, new GemmSpec(crs, (int)ld, s.K, true, false, crs, (int)ld, (int)ld, 0, 0, 0), inner);
                t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                    Im2Col.Fold((float*)pdx + (n0 + i) * xImage, col + i * p, ld, s, 0, s.OutH, clear: true, inner);
                LaneIm2Col(t0);
            });
            Im2ColBytes((double)s.N * p * (crs + (plan.Images > 1 ? s.K : 0)));
        }
    }

    /// <summary>
    /// count images of K × P side by side as one K × (count·P) matrix: <paramref name="dy"/> itself for one image,
    /// else a copy into <paramref name="into"/>.
    /// </summary>
    private static unsafe float* GatherImages(float* dy, float* into, int count, int k, int p)
    {
        if (count == 1) return dy;
        long ld = (long)count * p;
        for (int i = 0; i < count; i++)
            for (int ki = 0; ki < k; ki++)
                new ReadOnlySpan<float>(dy + ((long)i * k + ki) * p, p).CopyTo(new Span<float>(into + ki * ld + (long)i * p, p));
        return into;
    }

    private unsafe void BackwardBands(in Conv2dSpec s, Tensor dx, Tensor dweight, float* pdy, Tensor x, Tensor weight)
    {
        int p = s.OutH * s.OutW, crs = s.C * s.R * s.S;
        long xImage = (long)s.C * s.H * s.W, yImage = (long)s.K * p;
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
                    long t0 = Stopwatch.GetTimestamp();
                    Im2Col.Unfold(col, pb, x.F32 + n * xImage, s, oy0, oy1, Workers);
                    _im2colTicks += Stopwatch.GetTimestamp() - t0;
                    Im2ColBytes((double)crs * pb);
                    Gemm(dweight.F32, dyn + oy0 * s.OutW, col,
                        new GemmSpec(s.K, crs, pb, false, true, p, pb, crs, 0, 0, 0, Beta: 1f));
                }
                if (!dx.IsNone)
                {
                    // col(band) = weightᵀ · dy[n][:, band], summed back onto dx[n] (cleared by the first band).
                    Gemm(col, weight.F32, dyn + oy0 * s.OutW,
                        new GemmSpec(crs, pb, s.K, true, false, crs, p, pb, 0, 0, 0));
                    long t0 = Stopwatch.GetTimestamp();
                    Im2Col.Fold(dx.F32 + n * xImage, col, pb, s, oy0, oy1, oy0 == 0, Workers);
                    _im2colTicks += Stopwatch.GetTimestamp() - t0;
                    Im2ColBytes((double)crs * pb);
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
