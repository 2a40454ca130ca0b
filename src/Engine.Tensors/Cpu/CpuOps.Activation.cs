using Engine.Tensors;

namespace Engine.Cpu;

/// <summary>
/// Point-wise activations, each forward beside its backward. Element-wise, so chunking is only for
/// parallelism; every element is computed by the same scalar float code (same bits for any thread count).
/// </summary>
public sealed partial class CpuOps
{
    private const float InvSqrt2 = 0.707106781186547524f;
    private const float InvSqrt2Pi = 0.398942280401432678f;
    private const float QuickGeluAlpha = 1.702f;

    // ---- SiLU: y = x·σ(x);  y' = σ(x)·(1 + x·(1 - σ(x)))

    public void SiluForward(Tensor y, Tensor x) => Map<SiluF>(y, x);

    public void SiluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<SiluF>(dx, dy, x);

    private struct SiluF : IPointwise
    {
        public static float F(float x) => x * Sigmoid(x);

        public static float DF(float x)
        {
            float s = Sigmoid(x);
            return s * (1f + x * (1f - s));
        }
    }

    // ---- exact GELU: y = x·Φ(x) = ½x(1 + erf(x/√2));  y' = Φ(x) + x·φ(x)

    public void GeluForward(Tensor y, Tensor x) => Map<GeluF>(y, x);

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<GeluF>(dx, dy, x);

    private struct GeluF : IPointwise
    {
        public static float F(float x) => Gelu(x);

        public static float DF(float x) => GeluGrad(x);
    }

    // ---- quick GELU (CLIP): y = x·σ(1.702x);  y' = σ + 1.702·x·σ(1 - σ)

    public void QuickGeluForward(Tensor y, Tensor x) => Map<QuickGeluF>(y, x);

    public void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x) => MapGrad<QuickGeluF>(dx, dy, x);

    private struct QuickGeluF : IPointwise
    {
        public static float F(float x) => x * Sigmoid(QuickGeluAlpha * x);

        public static float DF(float x)
        {
            float s = Sigmoid(QuickGeluAlpha * x);
            return s + QuickGeluAlpha * x * s * (1f - s);
        }
    }

    // ---- GEGLU (diffusers): x [rows, 2C] = (hidden | gate), y = hidden·gelu(gate)
    //      dhidden = dy·gelu(gate), dgate = dy·hidden·gelu'(gate)

    public void GegluForward(Tensor y, Tensor x)
    {
        int c = CheckGeglu(y, nameof(y), x);
        nint py = y.Ptr, px = x.Ptr;
        RowsParallel(x.Numel / (2L * c), c, row =>
        {
            var xr = Flat.Span(px, row * 2 * c, 2 * c);
            var yr = Flat.Span(py, row * c, c);
            for (int j = 0; j < c; j++) yr[j] = xr[j] * Gelu(xr[c + j]);
        });
    }

    public void GegluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        int c = CheckGeglu(dy, nameof(dy), x);
        Flat.CheckF32(dx, nameof(dx));
        Check.SameShape(dx, x, nameof(dx), nameof(x));
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        RowsParallel(x.Numel / (2L * c), c, row =>
        {
            var xr = Flat.Span(px, row * 2 * c, 2 * c);
            var dxr = Flat.Span(pdx, row * 2 * c, 2 * c);
            var dyr = Flat.Span(pdy, row * c, c);
            for (int j = 0; j < c; j++)
            {
                float h = xr[j], g = xr[c + j], d = dyr[j];
                dxr[j] = d * Gelu(g);
                dxr[c + j] = d * h * GeluGrad(g);
            }
        });
    }

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

    internal static float Gelu(float x) => 0.5f * x * (1f + Erf.Of(x * InvSqrt2));

    internal static float GeluGrad(float x)
    {
        float cdf = 0.5f * (1f + Erf.Of(x * InvSqrt2));
        float pdf = InvSqrt2Pi * MathF.Exp(-0.5f * x * x);
        return cdf + x * pdf;
    }

    /// <summary>A point-wise function and its derivative; static abstract so the JIT inlines them into the loops.</summary>
    private interface IPointwise
    {
        static abstract float F(float x);

        static abstract float DF(float x);
    }

    private void Map<TF>(Tensor y, Tensor x)
        where TF : struct, IPointwise
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(y, x, nameof(y), nameof(x));
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var ys = Flat.Span(py, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) ys[i] = TF.F(xs[i]);
        });
    }

    /// <summary>dx = dy · f'(x).</summary>
    private void MapGrad<TF>(Tensor dx, Tensor dy, Tensor x)
        where TF : struct, IPointwise
    {
        CheckGrad(dx, dy, x);
        nint pdx = dx.Ptr, pdy = dy.Ptr, px = x.Ptr;
        ForChunks(x.Numel, (start, len) =>
        {
            var d = Flat.Span(pdx, start, len);
            var g = Flat.Span(pdy, start, len);
            var xs = Flat.Span(px, start, len);
            for (int i = 0; i < len; i++) d[i] = g[i] * TF.DF(xs[i]);
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
