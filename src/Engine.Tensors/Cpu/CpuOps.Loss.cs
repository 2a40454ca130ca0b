using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Mean losses. The forward sums go through the deterministic chunked reduction (double per chunk,
/// chunks combined in order), so the loss has the same bits for any thread count.
/// </summary>
public sealed partial class CpuOps
{
    public void MseForward(Tensor loss, Tensor x, Tensor target)
    {
        CheckLoss(loss, x, target, nameof(x));
        Span<long> whole = [0, x.Numel];
        Reduce(loss, x, target, whole, ReduceKind.SquaredDiff, 1.0 / Math.Max(1, x.Numel));
    }

    public void MseBackward(Tensor dx, Tensor x, Tensor target, float dloss)
    {
        CheckLossGrad(dx, x, target, nameof(dx), nameof(x));
        // d/dx mean((x - t)²) = 2(x - t)/n
        float scale = (float)(2.0 * dloss / Math.Max(1, x.Numel));
        nint pdx = dx.Ptr, px = x.Ptr, pt = target.Ptr;
        long n = x.Numel;
        Parallel.For(0, Flat.Count(n, Flat.MapChunk), Workers, c =>
        {
            long start = c * (long)Flat.MapChunk;
            int len = (int)Math.Min(Flat.MapChunk, n - start);
            var d = Flat.Span(pdx, start, len);
            System.Numerics.Tensors.TensorPrimitives.Subtract(Flat.Span(px, start, len), Flat.Span(pt, start, len), d);
            System.Numerics.Tensors.TensorPrimitives.Multiply(d, scale, d);
        });
    }

    public void BceWithLogitsForward(Tensor loss, Tensor logits, Tensor target)
    {
        CheckLoss(loss, logits, target, nameof(logits));
        Span<long> whole = [0, logits.Numel];
        Reduce(loss, logits, target, whole, ReduceKind.BceWithLogits, 1.0 / Math.Max(1, logits.Numel));
    }

    public void BceWithLogitsBackward(Tensor dlogits, Tensor logits, Tensor target, float dloss)
    {
        CheckLossGrad(dlogits, logits, target, nameof(dlogits), nameof(logits));
        float scale = (float)((double)dloss / Math.Max(1, logits.Numel));
        nint pd = dlogits.Ptr, pz = logits.Ptr, pt = target.Ptr;
        long n = logits.Numel;
        Parallel.For(0, Flat.Count(n, Flat.MapChunk), Workers, c =>
        {
            long start = c * (long)Flat.MapChunk;
            int len = (int)Math.Min(Flat.MapChunk, n - start);
            var d = Flat.Span(pd, start, len);
            var z = Flat.Span(pz, start, len);
            var t = Flat.Span(pt, start, len);
            for (int i = 0; i < len; i++) d[i] = scale * (Sigmoid(z[i]) - t[i]);
        });
    }

    /// <summary>Σ max(z,0) - z·t + log(1 + e^{-|z|}): never exponentiates a positive number.</summary>
    private static unsafe double BceChunk(float* z, float* t, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++)
        {
            double zi = z[i];
            s += Math.Max(zi, 0) - zi * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(zi)));
        }
        return s;
    }

    private static void CheckLoss(Tensor loss, Tensor x, Tensor target, string xName)
    {
        Flat.CheckF32(loss, nameof(loss));
        Flat.CheckF32(x, xName);
        Flat.CheckF32(target, nameof(target));
        Check.Numel(loss, 1, nameof(loss));
        Check.SameShape(x, target, xName, nameof(target));
    }

    private static void CheckLossGrad(Tensor dx, Tensor x, Tensor target, string dxName, string xName)
    {
        Flat.CheckF32(dx, dxName);
        Flat.CheckF32(x, xName);
        Flat.CheckF32(target, nameof(target));
        Check.SameShape(x, target, xName, nameof(target));
        Check.SameShape(dx, x, dxName, xName);
    }
}
