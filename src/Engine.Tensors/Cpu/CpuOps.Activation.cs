using System.Runtime.Intrinsics;
using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Point-wise activations, each forward beside its backward. Element-wise, so chunking is only for
/// parallelism; every element is computed by the same scalar float code (same bits for any thread count).
/// </summary>
public sealed partial class CpuOps
{
    private const float QuickGeluAlpha = 1.702f;

    // ---- SiLU: y = x·σ(x);  y' = σ(x)·(1 + x·(1 - σ(x)))

    public void SiluForward(Tensor y, Tensor x) => Map<SiluF>(y, x);

    public void SiluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<SiluF>(dx, dy, x);

    private struct SiluF : IPointwise
    {
        public static Vector256<float> F(Vector256<float> x) => x * VectorMath.Sigmoid(x);

        public static Vector256<float> DF(Vector256<float> x)
        {
            var s = VectorMath.Sigmoid(x);
            return s * (Vector256<float>.One + x * (Vector256<float>.One - s));
        }
    }

    // ---- exact GELU: y = x·Φ(x) = ½x(1 + erf(x/√2));  y' = Φ(x) + x·φ(x)

    public void GeluForward(Tensor y, Tensor x) => Map<GeluF>(y, x);

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<GeluF>(dx, dy, x);

    private struct GeluF : IPointwise
    {
        public static Vector256<float> F(Vector256<float> x) => VectorMath.Gelu(x);

        public static Vector256<float> DF(Vector256<float> x) => VectorMath.GeluGrad(x);
    }

    // ---- quick GELU (CLIP): y = x·σ(1.702x);  y' = σ + 1.702·x·σ(1 - σ)

    public void QuickGeluForward(Tensor y, Tensor x) => Map<QuickGeluF>(y, x);

    public void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<QuickGeluF>(dx, dy, x);

    private struct QuickGeluF : IPointwise
    {
        public static Vector256<float> F(Vector256<float> x) => x * VectorMath.Sigmoid(Vector256.Create(QuickGeluAlpha) * x);

        public static Vector256<float> DF(Vector256<float> x)
        {
            var alpha = Vector256.Create(QuickGeluAlpha);
            var s = VectorMath.Sigmoid(alpha * x);
            return s + alpha * x * s * (Vector256<float>.One - s);
        }
    }

    // ---- GEGLU (diffusers): x [rows, 2C] = (hidden | gate), y = hidden·gelu(gate)
    //      dhidden = dy·gelu(gate), dgate = dy·hidden·gelu'(gate)

    public unsafe void GegluForward(Tensor y, Tensor x)
    {
        int c = CheckGeglu(y, nameof(y), x);
        nint py = y.Ptr, px = x.Ptr;
        RowsParallel(x.Numel / (2L * c), c, row =>
        {
            float* xr = (float*)px + row * 2 * c, yr = (float*)py + row * c;
            int j = 0;
            for (; j + 8 <= c; j += 8)
                Vector256.Store(Vector256.Load(xr + j) * VectorMath.Gelu(Vector256.Load(xr + c + j)), yr + j);
            if (j < c)
            {
                int n = c - j;
                VectorMath.StoreFirst(VectorMath.LoadFirst(xr + j, n) * VectorMath.Gelu(VectorMath.LoadFirst(xr + c + j, n)), yr + j, n);
            }
        });
    }

    public unsafe void GegluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        int c = CheckGeglu(dy, nameof(dy), x);
        Flat.CheckF32(dx, nameof(dx));
        Check.SameShape(dx, x, nameof(dx), nameof(x));
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        RowsParallel(x.Numel / (2L * c), c, row =>
        {
            float* xr = (float*)px + row * 2 * c, dxr = (float*)pdx + row * 2 * c, dyr = (float*)pdy + row * c;
            int j = 0;
            for (; j + 8 <= c; j += 8)
            {
                var (dh, dg) = GegluGrad(Vector256.Load(xr + j), Vector256.Load(xr + c + j), Vector256.Load(dyr + j));
                Vector256.Store(dh, dxr + j);
                Vector256.Store(dg, dxr + c + j);
            }
            if (j < c)
            {
                int n = c - j;
                var (dh, dg) = GegluGrad(VectorMath.LoadFirst(xr + j, n), VectorMath.LoadFirst(xr + c + j, n), VectorMath.LoadFirst(dyr + j, n));
                VectorMath.StoreFirst(dh, dxr + j, n);
                VectorMath.StoreFirst(dg, dxr + c + j, n);
            }
        });
    }

    /// <summary>(dhidden, dgate) = (dy·gelu(gate), dy·hidden·gelu'(gate)).</summary>
    private static (Vector256<float> DHidden, Vector256<float> DGate) GegluGrad(Vector256<float> h, Vector256<float> g, Vector256<float> d) =>
        (d * VectorMath.Gelu(g), d * h * VectorMath.GeluGrad(g));

    // ---- LeakyReLU (torch: x > 0 ? x : slope·x; the gradient at 0 is slope)

    public void LeakyReluForward(Tensor y, Tensor x, float slope)
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(y, x, nameof(y), nameof(x));
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var ys = Flat.Span(py, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) ys[i] = xs[i] > 0 ? xs[i] : slope * xs[i];
        });
    }

    public void LeakyReluBackward(Tensor dx, Tensor dy, Tensor x, float slope)
    {
        CheckGrad(dx, dy, x);
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var d = Flat.Span(pdx, start, len);
            var g = Flat.Span(pdy, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) d[i] = xs[i] > 0 ? g[i] : slope * g[i];
        });
    }

    // ---- clamp (torch.clamp: the gradient passes at the bounds themselves)

    public void ClampForward(Tensor y, Tensor x, float lo, float hi)
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(y, x, nameof(y), nameof(x));
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var ys = Flat.Span(py, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) ys[i] = MathF.Min(MathF.Max(xs[i], lo), hi);
        });
    }

    public void ClampBackward(Tensor dx, Tensor dy, Tensor x, float lo, float hi)
    {
        CheckGrad(dx, dy, x);
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var d = Flat.Span(pdx, start, len);
            var g = Flat.Span(pdy, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) d[i] = xs[i] >= lo && xs[i] <= hi ? g[i] : 0f;
        });
    }

    // ---- shared scalar pieces

    /// <summary>σ(x) without overflow: e^{-|x|} is at most 1.</summary>
    internal static float Sigmoid(float x)
    {
        float e = MathF.Exp(-MathF.Abs(x));
        return x >= 0 ? 1f / (1f + e) : e / (1f + e);
    }

    /// <summary>
    /// A point-wise function and its derivative on eight lanes; static abstract so the JIT inlines them into the loops.
    /// A ragged tail goes through the same code on a zero-padded copy, so every element sees the same arithmetic.
    /// </summary>
    private interface IPointwise
    {
        static abstract Vector256<float> F(Vector256<float> x);

        static abstract Vector256<float> DF(Vector256<float> x);
    }

    private unsafe void Map<TF>(Tensor y, Tensor x)
        where TF : struct, IPointwise
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(y, x, nameof(y), nameof(x));
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            float* ys = (float*)py + start, xs = (float*)px + start;
            int i = 0;
            for (; i + 8 <= len; i += 8) Vector256.Store(TF.F(Vector256.Load(xs + i)), ys + i);
            if (i < len) VectorMath.StoreFirst(TF.F(VectorMath.LoadFirst(xs + i, len - i)), ys + i, len - i);
        });
    }

    /// <summary>dx = dy · f'(x).</summary>
    private unsafe void MapGrad<TF>(Tensor dx, Tensor dy, Tensor x)
        where TF : struct, IPointwise
    {
        CheckGrad(dx, dy, x);
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            float* d = (float*)pdx + start, g = (float*)pdy + start, xs = (float*)px + start;
            int i = 0;
            for (; i + 8 <= len; i += 8) Vector256.Store(Vector256.Load(g + i) * TF.DF(Vector256.Load(xs + i)), d + i);
            if (i < len)
            {
                int n = len - i;
                VectorMath.StoreFirst(VectorMath.LoadFirst(g + i, n) * TF.DF(VectorMath.LoadFirst(xs + i, n)), d + i, n);
            }
        });
    }

    private static void CheckGrad(Tensor dx, Tensor dy, Tensor x)
    {
        Flat.CheckF32(dx, nameof(dx));
        Flat.CheckF32(dy, nameof(dy));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(dy, x, nameof(dy), nameof(x));
        Check.SameShape(dx, x, nameof(dx), nameof(x));
    }

    /// <summary>Checks x [..., 2C] against y [..., C]; returns C.</summary>
    private static int CheckGeglu(Tensor y, string yName, Tensor x)
    {
        Flat.CheckF32(y, yName);
        Flat.CheckF32(x, nameof(x));
        if (x.Rank < 1 || x.Dim(-1) % 2 != 0 || x.Dim(-1) == 0)
            throw new ArgumentException($"x {x.Shape} must have an even, non-zero last dimension (hidden | gate)");
        Span<int> dims = stackalloc int[Shape.MaxRank];
        for (int d = 0; d < x.Rank; d++) dims[d] = x.Dim(d);
        int c = dims[x.Rank - 1] /= 2;
        var expected = new Shape(dims[..x.Rank]);
        if (y.Shape != expected) throw new ArgumentException($"{yName} has shape {y.Shape}, expected {expected} for x {x.Shape}");
        return c;
    }

    /// <summary>Runs body(start, length) over fixed-size chunks of [0, n) in parallel.</summary>
    private void ForChunks(long n, Action<long, int> body)
    {
        int chunks = Flat.Count(n, Flat.MapChunk);
        if (chunks == 1) body(0, (int)n);
        else if (chunks > 1)
            Parallel.For(0, chunks, Workers, c =>
            {
                long start = c * (long)Flat.MapChunk;
                body(start, (int)Math.Min(Flat.MapChunk, n - start));
            });
    }

    /// <summary>Runs body(row) for every row; rows are grouped so that a work item is about MapChunk elements.</summary>
    private void RowsParallel(long rows, int rowLength, Action<long> body)
    {
        long perItem = Math.Max(1, Flat.MapChunk / Math.Max(1, rowLength));
        int items = Flat.Count(rows, (int)perItem);
        Parallel.For(0, items, Workers, it =>
        {
            long end = Math.Min(rows, (it + 1) * perItem);
            for (long r = it * perItem; r < end; r++) body(r);
        });
    }
}
