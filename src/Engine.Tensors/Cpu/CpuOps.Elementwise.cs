using Engine.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Engine.Cpu;

/// <summary>
/// Element-wise arithmetic (TensorPrimitives over fixed chunks), embedding lookup, nearest 2× upsampling and
/// channel concat/split. Nothing here reduces except the embedding and upsample backward, which add in a
/// fixed order.
/// </summary>
public sealed partial class CpuOps
{
    // Embedding backward: columns of the table per work item; each item walks the ids in order.
    private const int EmbeddingColumns = 64;

    public void Add(Tensor y, Tensor a, Tensor b)
    {
        CheckBinary(y, a, b);
        nint py = y.Ptr, pa = a.Ptr, pb = b.Ptr;
        ForChunks(y.Numel, (s, n) => TensorPrimitives.Add(Flat.Span(pa, s, n), Flat.Span(pb, s, n), Flat.Span(py, s, n)));
    }

    public void Mul(Tensor y, Tensor a, Tensor b)
    {
        CheckBinary(y, a, b);
        nint py = y.Ptr, pa = a.Ptr, pb = b.Ptr;
        ForChunks(y.Numel, (s, n) => TensorPrimitives.Multiply(Flat.Span(pa, s, n), Flat.Span(pb, s, n), Flat.Span(py, s, n)));
    }

    public void Scale(Tensor y, Tensor x, float alpha)
    {
        CheckUnary(y, x);
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(y.Numel, (s, n) => TensorPrimitives.Multiply(Flat.Span(px, s, n), alpha, Flat.Span(py, s, n)));
    }

    public void Axpy(Tensor y, float alpha, Tensor x)
    {
        CheckUnary(y, x);
        nint py = y.Ptr, px = x.Ptr;
        ForChunks(y.Numel, (s, n) =>
        {
            var ys = Flat.Span(py, s, n);
            TensorPrimitives.MultiplyAdd(Flat.Span(px, s, n), alpha, ys, ys);
        });
    }

    public void Fill(Tensor y, float value)
    {
        Flat.CheckF32(y, nameof(y));
        nint py = y.Ptr;
        ForChunks(y.Numel, (s, n) => Flat.Span(py, s, n).Fill(value));
    }

    /// <summary>Byte copy; any dtype, as long as both tensors have the same dtype and element count.</summary>
    public unsafe void Copy(Tensor dst, Tensor src)
    {
        if (dst.IsNone || src.IsNone) throw new ArgumentException($"Copy needs two tensors, got dst {dst} and src {src}");
        if (dst.Device != Device.Cpu || src.Device != Device.Cpu)
            throw new ArgumentException($"Copy on the CPU backend needs CPU tensors, got dst {dst} and src {src}");
        if (dst.DType != src.DType) throw new ArgumentException($"dst {dst} and src {src} differ in dtype");
        Check.Numel(dst, src.Numel, nameof(dst));
        long bytes = src.Bytes;
        nint pd = dst.Ptr, ps = src.Ptr;
        const int chunk = 1 << 20;
        ForChunksOf(bytes, chunk, (s, n) => Buffer.MemoryCopy((byte*)ps + s, (byte*)pd + s, n, n));
    }

    // ---- embedding: y[i, :] = table[ids[i], :];  dtable[ids[i], :] += dy[i, :]

    public void EmbeddingForward(Tensor y, Tensor ids, Tensor table)
    {
        var (n, vocab, dim) = CheckEmbedding(y, nameof(y), ids, table, nameof(table));
        CheckIds(ids, vocab);
        nint py = y.Ptr, pt = table.Ptr, pi = ids.Ptr;
        RowsParallel(n, dim, i =>
        {
            int id = IdAt(pi, i);
            Flat.Span(pt, (long)id * dim, dim).CopyTo(Flat.Span(py, i * dim, dim));
        });
    }

    /// <summary>
    /// Scatter-add without atomics: work items own disjoint column ranges of the table and each walks the
    /// ids in order, so repeated ids add up in the same order every run, for any thread count.
    /// </summary>
    public void EmbeddingBackward(Tensor dtable, Tensor dy, Tensor ids)
    {
        var (n, vocab, dim) = CheckEmbedding(dy, nameof(dy), ids, dtable, nameof(dtable));
        CheckIds(ids, vocab);
        nint pdt = dtable.Ptr, pdy = dy.Ptr, pi = ids.Ptr;
        int items = Flat.Count(dim, EmbeddingColumns);
        Parallel.For(0, items, Workers, it =>
        {
            int c0 = it * EmbeddingColumns;
            int cols = Math.Min(EmbeddingColumns, dim - c0);
            for (long i = 0; i < n; i++)
            {
                int id = IdAt(pi, i);
                var row = Flat.Span(pdt, (long)id * dim + c0, cols);
                TensorPrimitives.Add(row, Flat.Span(pdy, i * dim + c0, cols), row);
            }
        });
    }

    private static unsafe int IdAt(nint ids, long i) => ((int*)ids)[i];

    private static (long N, int Vocab, int Dim) CheckEmbedding(Tensor y, string yName, Tensor ids, Tensor table, string tableName)
    {
        Flat.CheckF32(y, yName);
        Flat.CheckF32(table, tableName);
        if (ids.IsNone || ids.DType != DType.I32 || ids.Device != Device.Cpu)
            throw new ArgumentException($"ids must be an I32 CPU tensor, got {ids}");
        if (table.Rank != 2) throw new ArgumentException($"{tableName} {table.Shape} must be [vocab, dim]");
        int vocab = table.Dim(0), dim = table.Dim(1);
        long n = ids.Numel;
        if (y.Numel != n * dim || y.Dim(-1) != dim)
            throw new ArgumentException($"{yName} has shape {y.Shape}, expected [{n}, {dim}] for ids {ids.Shape} and {tableName} {table.Shape}");
        return (n, vocab, dim);
    }

    private static unsafe void CheckIds(Tensor ids, int vocab)
    {
        int* p = (int*)ids.Ptr;
        for (long i = 0; i < ids.Numel; i++)
            if ((uint)p[i] >= (uint)vocab)
                throw new ArgumentException($"ids[{i}] = {p[i]} is outside the embedding table of {vocab} rows");
    }

    // ---- nearest 2× upsample: y[n, c, 2h + a, 2w + b] = x[n, c, h, w];  dx = Σ over the 2×2 block

    public void Upsample2xForward(Tensor y, Tensor x)
    {
        var (planes, h, w) = CheckUpsample(y, nameof(y), x, nameof(x));
        nint py = y.Ptr, px = x.Ptr;
        RowsParallel(planes, 4 * h * w, p =>
        {
            var xs = Flat.Span(px, p * h * w, h * w);
            var ys = Flat.Span(py, p * 4 * h * w, 4 * h * w);
            for (int i = 0; i < h; i++)
            {
                var top = ys.Slice(2 * i * 2 * w, 2 * w);
                for (int j = 0; j < w; j++)
                {
                    float v = xs[i * w + j];
                    top[2 * j] = v;
                    top[2 * j + 1] = v;
                }
                top.CopyTo(ys.Slice((2 * i + 1) * 2 * w, 2 * w));
            }
        });
    }

    public void Upsample2xBackward(Tensor dx, Tensor dy)
    {
        var (planes, h, w) = CheckUpsample(dy, nameof(dy), dx, nameof(dx));
        nint pdx = dx.Ptr, pdy = dy.Ptr;
        RowsParallel(planes, 4 * h * w, p =>
        {
            var d = Flat.Span(pdx, p * h * w, h * w);
            var g = Flat.Span(pdy, p * 4 * h * w, 4 * h * w);
            for (int i = 0; i < h; i++)
            {
                var top = g.Slice(2 * i * 2 * w, 2 * w);
                var bottom = g.Slice((2 * i + 1) * 2 * w, 2 * w);
                for (int j = 0; j < w; j++)
                    d[i * w + j] = top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1];
            }
        });
    }

    private static (long Planes, int H, int W) CheckUpsample(Tensor big, string bigName, Tensor small, string smallName)
    {
        Flat.CheckF32(big, bigName);
        Flat.CheckF32(small, smallName);
        if (small.Rank != 4) throw new ArgumentException($"{smallName} {small.Shape} must be [N, C, H, W]");
        var expected = new Shape(small.Dim(0), small.Dim(1), 2 * small.Dim(2), 2 * small.Dim(3));
        if (big.Shape != expected) throw new ArgumentException($"{bigName} has shape {big.Shape}, expected {expected} for {smallName} {small.Shape}");
        return ((long)small.Dim(0) * small.Dim(1), small.Dim(2), small.Dim(3));
    }

    // ---- channel concat / split: per sample, a's block then b's block

    public void ConcatChannels(Tensor y, Tensor a, Tensor b)
    {
        var (n, sa, sb) = CheckConcat(y, nameof(y), a, b, requireBoth: true);
        nint py = y.Ptr, pa = a.Ptr, pb = b.Ptr;
        RowsParallel(n, (int)Math.Min(int.MaxValue, sa + sb), i =>
        {
            Flat.Span(pa, i * sa, (int)sa).CopyTo(Flat.Span(py, i * (sa + sb), (int)sa));
            Flat.Span(pb, i * sb, (int)sb).CopyTo(Flat.Span(py, i * (sa + sb) + sa, (int)sb));
        });
    }

    public void SplitChannels(Tensor a, Tensor b, Tensor x)
    {
        var (n, sa, sb) = CheckConcat(x, nameof(x), a, b, requireBoth: false);
        nint px = x.Ptr, pa = a.Ptr, pb = b.Ptr;
        RowsParallel(n, (int)Math.Min(int.MaxValue, sa + sb), i =>
        {
            if (pa != 0) Flat.Span(px, i * (sa + sb), (int)sa).CopyTo(Flat.Span(pa, i * sa, (int)sa));
            if (pb != 0) Flat.Span(px, i * (sa + sb) + sa, (int)sb).CopyTo(Flat.Span(pb, i * sb, (int)sb));
        });
    }

    /// <summary>
    /// Checks y [N, Ca+Cb, *] against a [N, Ca, *] and b [N, Cb, *]; returns N and the per-sample element
    /// counts of a and b. For a split, a None part is skipped, and its channel count is inferred.
    /// </summary>
    private static (long N, long PerA, long PerB) CheckConcat(Tensor y, string yName, Tensor a, Tensor b, bool requireBoth)
    {
        Flat.CheckF32(y, yName);
        if (y.Rank < 2) throw new ArgumentException($"{yName} {y.Shape} must be [N, C, ...]");
        if (requireBoth || !a.IsNone) Flat.CheckF32(a, nameof(a));
        if (requireBoth || !b.IsNone) Flat.CheckF32(b, nameof(b));
        if (a.IsNone && b.IsNone) throw new ArgumentException("SplitChannels needs at least one of a and b");
        if ((!a.IsNone && a.Rank != y.Rank) || (!b.IsNone && b.Rank != y.Rank))
            throw new ArgumentException($"a {a.Shape} and b {b.Shape} must have the rank of {yName} {y.Shape}");
        long inner = 1;
        for (int d = 2; d < y.Rank; d++) inner *= y.Dim(d);
        int c = y.Dim(1);
        int ca = a.IsNone ? c - b.Dim(1) : a.Dim(1);
        int cb = c - ca;
        if (ca < 0 || cb < 0) throw new ArgumentException($"channels of a and b exceed {yName} {y.Shape}");
        CheckPart(a, nameof(a), ca, y, yName);
        CheckPart(b, nameof(b), cb, y, yName);
        return (y.Dim(0), ca * inner, cb * inner);
    }

    private static void CheckPart(Tensor t, string name, int channels, Tensor y, string yName)
    {
        if (t.IsNone) return;
        Span<int> dims = stackalloc int[Shape.MaxRank];
        for (int d = 0; d < y.Rank; d++) dims[d] = y.Dim(d);
        dims[1] = channels;
        var expected = new Shape(dims[..y.Rank]);
        if (t.Shape != expected)
            throw new ArgumentException($"{name} has shape {t.Shape}, expected {expected} for {yName} {y.Shape}");
    }

    private static void CheckBinary(Tensor y, Tensor a, Tensor b)
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(a, nameof(a));
        Flat.CheckF32(b, nameof(b));
        Check.SameShape(a, b, nameof(a), nameof(b));
        Check.SameShape(y, a, nameof(y), nameof(a));
    }

    private static void CheckUnary(Tensor y, Tensor x)
    {
        Flat.CheckF32(y, nameof(y));
        Flat.CheckF32(x, nameof(x));
        Check.SameShape(y, x, nameof(y), nameof(x));
    }

    private void ForChunksOf(long n, int chunk, Action<long, int> body)
    {
        int chunks = Flat.Count(n, chunk);
        if (chunks == 1) body(0, (int)n);
        else if (chunks > 1)
            Parallel.For(0, chunks, Workers, c =>
            {
                long start = c * (long)chunk;
                body(start, (int)Math.Min(chunk, n - start));
            });
    }
}
