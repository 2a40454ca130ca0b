using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class ElementwiseTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(77)]
    [InlineData(70_001)] // several work chunks
    public void Arithmetic_MatchesReference(int n)
    {
        using var h = new OpHarness();
        var a = OpHarness.Randn(n, 1);
        var b = OpHarness.Randn(n, 2);
        var ta = h.Tensor(a, n);
        var tb = h.Tensor(b, n);
        var y = h.Zeros(n);

        h.Ops.Add(y, ta, tb);
        Close.Assert("add", y.AsSpan(), a.Zip(b, (p, q) => p + q).ToArray());
        h.Ops.Mul(y, ta, tb);
        Close.Assert("mul", y.AsSpan(), a.Zip(b, (p, q) => p * q).ToArray());
        h.Ops.Scale(y, ta, -1.5f);
        Close.Assert("scale", y.AsSpan(), a.Select(p => -1.5 * p).ToArray());
        h.Ops.Copy(y, tb);
        Close.Bitwise("copy", y.AsSpan(), OpHarness.ToFloat(b));
        h.Ops.Axpy(y, 0.25f, ta);
        Close.Assert("axpy", y.AsSpan(), a.Zip(b, (p, q) => q + 0.25 * p).ToArray());
        h.Ops.Fill(y, 3.5f);
        Close.Bitwise("fill", y.AsSpan(), Enumerable.Repeat(3.5f, n).ToArray());

        // y may alias an input
        h.Ops.Add(ta, ta, tb);
        Close.Assert("add in place", ta.AsSpan(), a.Zip(b, (p, q) => p + q).ToArray());
    }

    [Fact]
    public void Copy_IntTensor()
    {
        using var h = new OpHarness();
        var src = h.Ints([3, -1, 7, 9, 11], 5);
        var dst = h.Arena.Alloc(new Engine.Tensors.Shape(5), Engine.Tensors.DType.I32);
        h.Ops.Copy(dst, src);
        Assert.Equal([3, -1, 7, 9, 11], dst.AsIntSpan().ToArray());
        Assert.Throws<ArgumentException>(() => h.Ops.Copy(h.Zeros(5), src));
    }

    // ---- embedding

    private static double[] EmbeddingReference(double[] table, int[] ids, int dim)
    {
        var y = new double[ids.Length * dim];
        for (int i = 0; i < ids.Length; i++)
            for (int d = 0; d < dim; d++) y[i * dim + d] = table[ids[i] * dim + d];
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 10, 13)]
    [InlineData(77, 49, 70)] // dim spans two column blocks of the backward
    public void Embedding_ForwardBackward_RepeatedIds(int n, int vocab, int dim)
    {
        using var h = new OpHarness();
        var table = OpHarness.Randn(vocab * dim, n + dim);
        var rng = new System.Random(n);
        var ids = Enumerable.Range(0, n).Select(_ => rng.Next(Math.Min(vocab, 5))).ToArray(); // few distinct ids: many repeats
        var tids = h.Ints(ids, n);
        var y = h.Zeros(n, dim);
        h.Ops.EmbeddingForward(y, tids, h.Tensor(table, vocab, dim));
        Close.Bitwise("embedding forward", y.AsSpan(), OpHarness.ToFloat(EmbeddingReference(table, ids, dim)));

        GradCheck.Run("embedding", [("table", table)], xs => EmbeddingReference(xs[0], ids, dim), (xs, dy) =>
        {
            var dtable = h.Zeros(vocab, dim);
            h.Ops.EmbeddingBackward(dtable, h.Tensor(dy, n, dim), tids);
            return [dtable.AsSpan().ToArray()];
        });
    }

    [Fact]
    public void Embedding_Backward_Accumulates()
    {
        using var h = new OpHarness();
        int[] ids = [2, 0, 2, 2];
        var dy = OpHarness.Randn(4 * 3, 4);
        var prior = OpHarness.Randn(3 * 3, 5);
        var dtable = h.Tensor(prior, 3, 3);
        h.Ops.EmbeddingBackward(dtable, h.Tensor(dy, 4, 3), h.Ints(ids, 4));
        var e = (double[])prior.Clone();
        for (int i = 0; i < ids.Length; i++)
            for (int d = 0; d < 3; d++) e[ids[i] * 3 + d] += dy[i * 3 + d];
        Close.Assert("dtable = prior + scatter", dtable.AsSpan(), e);
    }

    [Fact]
    public void Embedding_Backward_BitwiseAcrossThreadCounts()
    {
        int n = 200, vocab = 16, dim = 300;
        var rng = new System.Random(3);
        var ids = Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
        var dy = OpHarness.Randn(n * dim, 8);
        float[] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var dtable = h.Zeros(vocab, dim);
            h.Ops.EmbeddingBackward(dtable, h.Tensor(dy, n, dim), h.Ints(ids, n));
            return dtable.AsSpan().ToArray();
        }
        Close.Bitwise("embedding backward 1 vs 3 threads", Run(1), Run(3));
    }

    [Fact]
    public void Embedding_OutOfRangeId_ThrowsNamingIdAndTableSize()
    {
        using var h = new OpHarness();
        var table = h.Zeros(10, 4);
        var ex = Assert.Throws<ArgumentException>(() => h.Ops.EmbeddingForward(h.Zeros(3, 4), h.Ints([1, 12, 3], 3), table));
        Assert.Contains("12", ex.Message, StringComparison.Ordinal);
        Assert.Contains("10", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => h.Ops.EmbeddingBackward(table, h.Zeros(2, 4), h.Ints([-1, 0], 2)));
        Assert.Contains("-1", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => h.Ops.EmbeddingForward(h.Zeros(3, 5), h.Ints([1, 2, 3], 3), table));
        Assert.Throws<ArgumentException>(() => h.Ops.EmbeddingForward(h.Zeros(3, 4), h.Zeros(3), table));
    }

    // ---- nearest 2× upsample

    private static double[] UpsampleReference(double[] x, int n, int c, int hh, int w)
    {
        var y = new double[n * c * 4 * hh * w];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < 2 * hh; i++)
                for (int j = 0; j < 2 * w; j++)
                    y[(p * 2 * hh + i) * 2 * w + j] = x[(p * hh + i / 2) * w + j / 2];
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(1, 3, 2, 5)]
    [InlineData(2, 2, 3, 7)]
    public void Upsample2x_ForwardBackward(int n, int c, int hh, int w)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(n * c * hh * w, hh * w);
        var y = h.Zeros(n, c, 2 * hh, 2 * w);
        h.Ops.Upsample2xForward(y, h.Tensor(x, n, c, hh, w));
        Close.Bitwise("upsample forward", y.AsSpan(), OpHarness.ToFloat(UpsampleReference(x, n, c, hh, w)));

        GradCheck.Run("upsample2x", [("x", x)], xs => UpsampleReference(xs[0], n, c, hh, w), (xs, dy) =>
        {
            var dx = h.Zeros(n, c, hh, w);
            h.Ops.Upsample2xBackward(dx, h.Tensor(dy, n, c, 2 * hh, 2 * w));
            return [dx.AsSpan().ToArray()];
        });
    }

    // ---- channel concat / split

    private static double[] ConcatReference(double[] a, double[] b, int n, int ca, int cb, int inner)
    {
        var y = new List<double>();
        for (int i = 0; i < n; i++)
        {
            y.AddRange(a.Skip(i * ca * inner).Take(ca * inner));
            y.AddRange(b.Skip(i * cb * inner).Take(cb * inner));
        }
        return [.. y];
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1)]
    [InlineData(2, 3, 1, 2, 3)]
    [InlineData(3, 2, 5, 1, 1)]
    public void ConcatSplit_ForwardBackward(int n, int ca, int cb, int hh, int w)
    {
        using var h = new OpHarness();
        int inner = hh * w;
        var a = OpHarness.Randn(n * ca * inner, 1);
        var b = OpHarness.Randn(n * cb * inner, 2);
        var y = h.Zeros(n, ca + cb, hh, w);
        h.Ops.ConcatChannels(y, h.Tensor(a, n, ca, hh, w), h.Tensor(b, n, cb, hh, w));
        var expected = ConcatReference(a, b, n, ca, cb, inner);
        Close.Bitwise("concat", y.AsSpan(), OpHarness.ToFloat(expected));

        var sa = h.Zeros(n, ca, hh, w);
        var sb = h.Zeros(n, cb, hh, w);
        h.Ops.SplitChannels(sa, sb, y);
        Close.Bitwise("split a", sa.AsSpan(), OpHarness.ToFloat(a));
        Close.Bitwise("split b", sb.AsSpan(), OpHarness.ToFloat(b));

        // Only one part wanted: the other is None.
        var onlyB = h.Zeros(n, cb, hh, w);
        h.Ops.SplitChannels(Engine.Tensors.Tensor.None, onlyB, y);
        Close.Bitwise("split b only", onlyB.AsSpan(), OpHarness.ToFloat(b));

        // Concat's backward is a split of dy.
        GradCheck.Run("concat", [("a", a), ("b", b)], xs => ConcatReference(xs[0], xs[1], n, ca, cb, inner), (xs, dy) =>
        {
            var da = h.Zeros(n, ca, hh, w);
            var db = h.Zeros(n, cb, hh, w);
            h.Ops.SplitChannels(da, db, h.Tensor(dy, n, ca + cb, hh, w));
            return [da.AsSpan().ToArray(), db.AsSpan().ToArray()];
        });

        // Split's backward is a concat of the two output gradients; its outputs are (a, b) flattened one after the other.
        var x = expected;
        double[] SplitReference(double[] xs)
        {
            var outA = new List<double>();
            var outB = new List<double>();
            for (int i = 0; i < n; i++)
            {
                outA.AddRange(xs.Skip(i * (ca + cb) * inner).Take(ca * inner));
                outB.AddRange(xs.Skip(i * (ca + cb) * inner + ca * inner).Take(cb * inner));
            }
            return [.. outA, .. outB];
        }
        GradCheck.Run("split", [("x", x)], xs => SplitReference(xs[0]), (xs, dy) =>
        {
            var dx = h.Zeros(n, ca + cb, hh, w);
            h.Ops.ConcatChannels(dx, h.Tensor(dy[..(n * ca * inner)], n, ca, hh, w), h.Tensor(dy[(n * ca * inner)..], n, cb, hh, w));
            return [dx.AsSpan().ToArray()];
        });
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        var a = h.Zeros(2, 3);
        Assert.Throws<ArgumentException>(() => h.Ops.Add(h.Zeros(2, 3), a, h.Zeros(3, 2)));
        Assert.Throws<ArgumentException>(() => h.Ops.Mul(h.Zeros(6), a, a));
        Assert.Throws<ArgumentException>(() => h.Ops.Axpy(h.Zeros(3, 2), 1f, a));
        Assert.Throws<ArgumentException>(() => h.Ops.Copy(h.Zeros(5), a));
        Assert.Throws<ArgumentException>(() => h.Ops.Upsample2xForward(h.Zeros(1, 1, 4, 5), h.Zeros(1, 1, 2, 2)));
        Assert.Throws<ArgumentException>(() => h.Ops.Upsample2xBackward(h.Zeros(1, 1, 2, 2), h.Zeros(1, 2, 4, 4)));
        Assert.Throws<ArgumentException>(() => h.Ops.ConcatChannels(h.Zeros(2, 5, 4), h.Zeros(2, 2, 4), h.Zeros(2, 2, 4)));
        Assert.Throws<ArgumentException>(() => h.Ops.ConcatChannels(h.Zeros(2, 5, 4), h.Zeros(2, 2, 4), h.Zeros(2, 3, 3)));
        Assert.Throws<ArgumentException>(() => h.Ops.SplitChannels(h.Zeros(2, 6, 4), Engine.Tensors.Tensor.None, h.Zeros(2, 5, 4)));
        Assert.Throws<ArgumentException>(() => h.Ops.SplitChannels(Engine.Tensors.Tensor.None, Engine.Tensors.Tensor.None, h.Zeros(2, 5, 4)));
    }
}
