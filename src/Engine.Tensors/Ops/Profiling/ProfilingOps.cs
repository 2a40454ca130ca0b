using System.Diagnostics;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Ops.Profiling;

/// <summary>
/// An <see cref="IOps"/> that runs every op on another backend and adds its wall time, FLOPs (GEMM, convolution,
/// attention) or bytes touched (everything else: each tensor argument read or written once) to an
/// <see cref="OpProfile"/> under its family. On a GPU each op is followed by a synchronize, so its time is its device
/// time (and the run is slower than an unprofiled one); the CPU runs ops as they are called. A backend that times
/// its convolutions' im2col/col2im (<see cref="IPhaseTimer"/>) has that part charged to <see cref="OpFamily.Im2Col"/>.
/// Generated member for member from the IOps families, so a new op fails to compile here until it is given a family.
/// </summary>
public sealed class ProfilingOps(IOps inner, OpProfile profile) : IOps
{
    private readonly IOps _inner = inner;

    public OpProfile Profile { get; } = profile;

    public Device Device => _inner.Device;

    public string Name => _inner.Name + ", profiled";

    public ITensorArena CreateArena(long blockSize = 64L << 20) => _inner.CreateArena(blockSize);

    public void Synchronize() => _inner.Synchronize();

    private long Start()
    {
        _inner.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    private void Stop(OpFamily family, long start, double flops, double bytes)
    {
        _inner.Synchronize();
        Profile.Add(family, Stopwatch.GetElapsedTime(start).TotalSeconds, flops, bytes);
    }

    private (double Seconds, double Bytes) Im2ColSoFar() => _inner is IPhaseTimer p ? p.Im2Col : default;

    /// <summary>A convolution: its im2col/col2im, where the backend times them, to <see cref="OpFamily.Im2Col"/>.</summary>
    private void StopConv(OpFamily family, long start, double flops, (double Seconds, double Bytes) before)
    {
        _inner.Synchronize();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var after = Im2ColSoFar();
        if (after.Bytes > before.Bytes)
        {
            double im2col = Math.Min(seconds, after.Seconds - before.Seconds);
            Profile.Add(OpFamily.Im2Col, im2col, 0, after.Bytes - before.Bytes);
            seconds -= im2col;
        }
        Profile.Add(family, seconds, flops, 0);
    }

    private static double ConvFlops(in Conv2dSpec s) => 2.0 * s.N * s.K * s.OutH * s.OutW * s.C * s.R * s.S;

    private static double Bytes(params ReadOnlySpan<Tensor> tensors)
    {
        double bytes = 0;
        foreach (var t in tensors)
            if (!t.IsNone) bytes += (double)t.Numel * t.DType.SizeOf();
        return bytes;
    }

    public void SiluForward(Tensor y, Tensor x)
    {
        long t = Start();
        _inner.SiluForward(y, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void SiluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        long t = Start();
        _inner.SiluBackward(dx, dy, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void GeluForward(Tensor y, Tensor x)
    {
        long t = Start();
        _inner.GeluForward(y, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        long t = Start();
        _inner.GeluBackward(dx, dy, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void QuickGeluForward(Tensor y, Tensor x)
    {
        long t = Start();
        _inner.QuickGeluForward(y, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        long t = Start();
        _inner.QuickGeluBackward(dx, dy, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void GegluForward(Tensor y, Tensor x)
    {
        long t = Start();
        _inner.GegluForward(y, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void GegluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        long t = Start();
        _inner.GegluBackward(dx, dy, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void LeakyReluForward(Tensor y, Tensor x, float slope)
    {
        long t = Start();
        _inner.LeakyReluForward(y, x, slope);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void LeakyReluBackward(Tensor dx, Tensor dy, Tensor x, float slope)
    {
        long t = Start();
        _inner.LeakyReluBackward(dx, dy, x, slope);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void ClampForward(Tensor y, Tensor x, float lo, float hi)
    {
        long t = Start();
        _inner.ClampForward(y, x, lo, hi);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void ClampBackward(Tensor dx, Tensor dy, Tensor x, float lo, float hi)
    {
        long t = Start();
        _inner.ClampBackward(dx, dy, x, lo, hi);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy, x));
    }

    public void AttentionForward(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, in AttentionSpec spec)
    {
        long t = Start();
        _inner.AttentionForward(o, lse, q, k, v, in spec);
        Stop(OpFamily.AttentionForward, t, 4.0 * spec.B * spec.Heads * spec.Tq * spec.Tk * spec.HeadDim, 0);
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, in AttentionSpec spec)
    {
        long t = Start();
        _inner.AttentionBackward(dq, dk, dv, dout, q, k, v, o, lse, in spec);
        Stop(OpFamily.AttentionBackward, t, 10.0 * spec.B * spec.Heads * spec.Tq * spec.Tk * spec.HeadDim, 0);
    }

    public void AddRowBias(Tensor y, Tensor bias)
    {
        long t = Start();
        _inner.AddRowBias(y, bias);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, bias));
    }

    public void AddRowBiasBackward(Tensor dbias, Tensor dy)
    {
        long t = Start();
        _inner.AddRowBiasBackward(dbias, dy);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dbias, dy));
    }

    public void AddChannelBias(Tensor y, Tensor b)
    {
        long t = Start();
        _inner.AddChannelBias(y, b);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, b));
    }

    public void AddChannelBiasBackward(Tensor db, Tensor dy)
    {
        long t = Start();
        _inner.AddChannelBiasBackward(db, dy);
        Stop(OpFamily.Elementwise, t, 0, Bytes(db, dy));
    }

    public void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec)
    {
        var im2col = Im2ColSoFar();
        long t = Start();
        _inner.Conv2dForward(y, x, weight, bias, in spec);
        StopConv(OpFamily.ConvForward, t, ConvFlops(spec), im2col);
    }

    public void Conv2dBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, in Conv2dSpec spec)
    {
        var im2col = Im2ColSoFar();
        long t = Start();
        _inner.Conv2dBackward(dx, dweight, dbias, dy, x, weight, in spec);
        StopConv(OpFamily.ConvBackward, t, ConvFlops(spec) * ((dx.IsNone ? 0 : 1) + (dweight.IsNone ? 0 : 1)), im2col);
    }

    public void Add(Tensor y, Tensor a, Tensor b)
    {
        long t = Start();
        _inner.Add(y, a, b);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, a, b));
    }

    public void Mul(Tensor y, Tensor a, Tensor b)
    {
        long t = Start();
        _inner.Mul(y, a, b);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, a, b));
    }

    public void Scale(Tensor y, Tensor x, float alpha)
    {
        long t = Start();
        _inner.Scale(y, x, alpha);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void Axpy(Tensor y, float alpha, Tensor x)
    {
        long t = Start();
        _inner.Axpy(y, alpha, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void Fill(Tensor y, float value)
    {
        long t = Start();
        _inner.Fill(y, value);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y));
    }

    public void Copy(Tensor dst, Tensor src)
    {
        long t = Start();
        _inner.Copy(dst, src);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dst, src));
    }

    public void EmbeddingForward(Tensor y, Tensor ids, Tensor table)
    {
        long t = Start();
        _inner.EmbeddingForward(y, ids, table);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, ids, table));
    }

    public void EmbeddingBackward(Tensor dtable, Tensor dy, Tensor ids)
    {
        long t = Start();
        _inner.EmbeddingBackward(dtable, dy, ids);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dtable, dy, ids));
    }

    public void Upsample2xForward(Tensor y, Tensor x)
    {
        long t = Start();
        _inner.Upsample2xForward(y, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void Upsample2xBackward(Tensor dx, Tensor dy)
    {
        long t = Start();
        _inner.Upsample2xBackward(dx, dy);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dy));
    }

    public void ConcatChannels(Tensor y, Tensor a, Tensor b)
    {
        long t = Start();
        _inner.ConcatChannels(y, a, b);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, a, b));
    }

    public void SplitChannels(Tensor a, Tensor b, Tensor x)
    {
        long t = Start();
        _inner.SplitChannels(a, b, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(a, b, x));
    }

    public void Gemm(Tensor c, Tensor a, Tensor b, in GemmSpec spec)
    {
        long t = Start();
        _inner.Gemm(c, a, b, in spec);
        Stop(OpFamily.Gemm, t, 2.0 * spec.M * spec.N * spec.K * spec.Batch, 0);
    }

    public void Transpose(Tensor y, Tensor x, int batch, int rows, int cols)
    {
        long t = Start();
        _inner.Transpose(y, x, batch, rows, cols);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, x));
    }

    public void CopyFromHost(Tensor dst, ReadOnlySpan<float> src)
    {
        long t = Start();
        _inner.CopyFromHost(dst, src);
        Stop(OpFamily.HostCopy, t, 0, 4.0 * src.Length);
    }

    public void CopyToHost(Span<float> dst, Tensor src)
    {
        long t = Start();
        _inner.CopyToHost(dst, src);
        Stop(OpFamily.HostCopy, t, 0, 4.0 * dst.Length);
    }

    public void MseForward(Tensor loss, Tensor x, Tensor target)
    {
        long t = Start();
        _inner.MseForward(loss, x, target);
        Stop(OpFamily.Elementwise, t, 0, Bytes(loss, x, target));
    }

    public void MseBackward(Tensor dx, Tensor x, Tensor target, float dloss)
    {
        long t = Start();
        _inner.MseBackward(dx, x, target, dloss);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, x, target));
    }

    public void BceWithLogitsForward(Tensor loss, Tensor logits, Tensor target)
    {
        long t = Start();
        _inner.BceWithLogitsForward(loss, logits, target);
        Stop(OpFamily.Elementwise, t, 0, Bytes(loss, logits, target));
    }

    public void BceWithLogitsBackward(Tensor dlogits, Tensor logits, Tensor target, float dloss)
    {
        long t = Start();
        _inner.BceWithLogitsBackward(dlogits, logits, target, dloss);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dlogits, logits, target));
    }

    public void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps)
    {
        long t = Start();
        _inner.GroupNormForward(y, mean, rstd, x, gamma, beta, groups, eps);
        Stop(OpFamily.GroupNorm, t, 0, Bytes(y, mean, rstd, x, gamma, beta));
    }

    public void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups)
    {
        long t = Start();
        _inner.GroupNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups);
        Stop(OpFamily.GroupNorm, t, 0, Bytes(dx, dgamma, dbeta, dy, x, mean, rstd, gamma));
    }

    public void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        long t = Start();
        _inner.LayerNormForward(y, mean, rstd, x, gamma, beta, eps);
        Stop(OpFamily.LayerNorm, t, 0, Bytes(y, mean, rstd, x, gamma, beta));
    }

    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        long t = Start();
        _inner.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        Stop(OpFamily.LayerNorm, t, 0, Bytes(dx, dgamma, dbeta, dy, x, mean, rstd, gamma));
    }

    public void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta, bool training, float momentum, float eps)
    {
        long t = Start();
        _inner.BatchNormForward(y, mean, rstd, runningMean, runningVar, x, gamma, beta, training, momentum, eps);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y, mean, rstd, runningMean, runningVar, x, gamma, beta));
    }

    public void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma)
    {
        long t = Start();
        _inner.BatchNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
        Stop(OpFamily.Elementwise, t, 0, Bytes(dx, dgamma, dbeta, dy, x, mean, rstd, gamma));
    }

    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamSpec spec, int step)
    {
        long t = Start();
        _inner.AdamStep(param, grad, m, v, in spec, step);
        Stop(OpFamily.Optimizer, t, 0, Bytes(param, grad, m, v));
    }

    public void RandomNormal(Tensor y, ulong seed, ulong offset)
    {
        long t = Start();
        _inner.RandomNormal(y, seed, offset);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y));
    }

    public void RandomUniform(Tensor y, ulong seed, ulong offset)
    {
        long t = Start();
        _inner.RandomUniform(y, seed, offset);
        Stop(OpFamily.Elementwise, t, 0, Bytes(y));
    }

    public void Sum(Tensor result, Tensor x)
    {
        long t = Start();
        _inner.Sum(result, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(result, x));
    }

    public void SumSquares(Tensor result, Tensor x)
    {
        long t = Start();
        _inner.SumSquares(result, x);
        Stop(OpFamily.Elementwise, t, 0, Bytes(result, x));
    }

    public void Dot(Tensor result, Tensor a, Tensor b)
    {
        long t = Start();
        _inner.Dot(result, a, b);
        Stop(OpFamily.Elementwise, t, 0, Bytes(result, a, b));
    }

    public void SegmentSumSquares(Tensor result, Tensor x, SegmentTable segments)
    {
        long t = Start();
        _inner.SegmentSumSquares(result, x, segments);
        Stop(OpFamily.Optimizer, t, 0, Bytes(result, x));
    }

    public void SegmentDot(Tensor result, Tensor a, Tensor b, SegmentTable segments)
    {
        long t = Start();
        _inner.SegmentDot(result, a, b, segments);
        Stop(OpFamily.Optimizer, t, 0, Bytes(result, a, b));
    }

    public void GradientSurgery(Tensor gradU, Tensor stats, Tensor gradR, SegmentTable segments, in SurgerySpec spec)
    {
        long t = Start();
        _inner.GradientSurgery(gradU, stats, gradR, segments, in spec);
        Stop(OpFamily.Optimizer, t, 0, Bytes(gradU, stats, gradR));
    }
}
