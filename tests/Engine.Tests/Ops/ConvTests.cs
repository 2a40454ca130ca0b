using Engine.Ops;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class ConvTests
{
    /// <summary>y[n,k,oy,ox] = bias[k] + Σ_{c,r,s} x[n, c, oy·sh − ph + r, ox·sw − pw + s] · w[k,c,r,s] (zero padding).</summary>
    private static double[] Reference(Conv2dSpec s, double[] x, double[] w, double[]? bias)
    {
        int oh = s.OutH, ow = s.OutW;
        var y = new double[s.N * s.K * oh * ow];
        for (int n = 0; n < s.N; n++)
            for (int k = 0; k < s.K; k++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double sum = bias is null ? 0 : bias[k];
                        for (int c = 0; c < s.C; c++)
                            for (int r = 0; r < s.R; r++)
                                for (int q = 0; q < s.S; q++)
                                {
                                    int ih = oy * s.StrideH - s.PadH + r, iw = ox * s.StrideW - s.PadW + q;
                                    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                    sum += x[((n * s.C + c) * s.H + ih) * s.W + iw] * w[((k * s.C + c) * s.R + r) * s.S + q];
                                }
                        y[((n * s.K + k) * oh + oy) * ow + ox] = sum;
                    }
        return y;
    }

    public static TheoryData<string, Conv2dSpec> Geometries() => new()
    {
        { "3x3 s1 p1", Conv2dSpec.Square(2, 3, 7, 6, 4, 3, 1, 1) },
        { "1x1 s1 p0", Conv2dSpec.Square(2, 5, 5, 3, 7, 1) },
        { "4x4 s2 p1", Conv2dSpec.Square(1, 2, 8, 7, 3, 4, 2, 1) },
        { "3x3 s2 p1 C=1", Conv2dSpec.Square(2, 1, 7, 9, 2, 3, 2, 1) },
        { "5x3 s(2,1) p(2,0)", new Conv2dSpec(1, 2, 9, 7, 3, 5, 3, 2, 1, 2, 0) },
        { "1x1 s2", Conv2dSpec.Square(1, 3, 7, 5, 2, 1, 2, 0) },
        { "3x3 s2 p1 W=1", Conv2dSpec.Square(1, 2, 5, 1, 3, 3, 2, 1) },
        { "3x3 s1 p1 13x13 K=1", Conv2dSpec.Square(1, 4, 13, 13, 1, 3, 1, 1) },
        // Stride 1 with OutW = W unfolds and folds whole shifted runs of the plane: shifts wider than the row, and
        // an asymmetric kernel with shifts of ±2.
        { "3x3 s1 p1 W=1", Conv2dSpec.Square(2, 2, 5, 1, 3, 3, 1, 1) },
        { "1x5 s1 p(0,2)", new Conv2dSpec(1, 2, 4, 6, 3, 1, 5, 1, 1, 0, 2) },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_Forward_MatchesReference(string name, Conv2dSpec s)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 1);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 2, 0.5);
        var b = OpHarness.Randn(s.K, 3);
        AssertForward(h, name, s, x, w, b);
    }

    /// <summary>The forward with and without bias against the reference loops (y NaN-filled first: written, never read).</summary>
    private static void AssertForward(OpHarness h, string name, Conv2dSpec s, double[] x, double[] w, double[] b)
    {
        var y = h.Zeros(s.YShape.ToArray());
        y.AsSpan().Fill(float.NaN);
        h.Ops.Conv2dForward(y, h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), h.Tensor(b, s.K), s);
        Close.Assert($"conv {name}", y.AsSpan(), Reference(s, x, w, b), 1e-4, 1e-5);
        h.Ops.Conv2dForward(y, h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), Engine.Tensors.Tensor.None, s);
        Close.Assert($"conv {name} no bias", y.AsSpan(), Reference(s, x, w, null), 1e-4, 1e-5);
    }

    /// <summary>Runs the backward with fresh (zero) parameter gradients and NaN-filled dx: [dx, dweight, dbias].</summary>
    private static float[][] Backward(OpHarness h, Conv2dSpec s, double[] x, double[] w, double[] dy)
    {
        var dx = h.Zeros(s.XShape.ToArray());
        dx.AsSpan().Fill(float.NaN); // overwritten, never read
        var dw = h.Zeros(s.WeightShape.ToArray());
        var db = h.Zeros(s.K);
        h.Ops.Conv2dBackward(dx, dw, db, h.Tensor(dy, s.YShape.ToArray()), h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), s);
        return [dx.AsSpan().ToArray(), dw.AsSpan().ToArray(), db.AsSpan().ToArray()];
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_Backward_MatchesFiniteDifferences(string name, Conv2dSpec s)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 4);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 5, 0.5);
        var b = OpHarness.Randn(s.K, 6);
        GradCheck.Run($"conv {name}", [("x", x), ("weight", w), ("bias", b)],
            xs => Reference(s, xs[0], xs[1], xs[2]),
            (xs, dy) => Backward(h, s, xs[0], xs[1], dy));
    }

    /// <summary>The exact gradients of L = Σ dy ⊙ conv(x, w, b), by the chain rule on the reference loops.</summary>
    private static (double[] Dx, double[] Dw, double[] Db) ReferenceBackward(Conv2dSpec s, double[] x, double[] w, double[] dy)
    {
        int oh = s.OutH, ow = s.OutW;
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[s.K];
        for (int n = 0; n < s.N; n++)
            for (int k = 0; k < s.K; k++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double g = dy[((n * s.K + k) * oh + oy) * ow + ox];
                        db[k] += g;
                        for (int c = 0; c < s.C; c++)
                            for (int r = 0; r < s.R; r++)
                                for (int q = 0; q < s.S; q++)
                                {
                                    int ih = oy * s.StrideH - s.PadH + r, iw = ox * s.StrideW - s.PadW + q;
                                    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                    int xi = ((n * s.C + c) * s.H + ih) * s.W + iw, wi = ((k * s.C + c) * s.R + r) * s.S + q;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                    }
        return (dx, dw, db);
    }

    public static TheoryData<string, Conv2dSpec> LargerGeometries() => new()
    {
        // More output pixels than one GEMM task (480 columns) and C·R·S over one K block (256): the packing
        // crosses task and block boundaries in the middle of image rows.
        { "3x3 s1 p1 23x23 C=30", Conv2dSpec.Square(2, 30, 23, 23, 9, 3, 1, 1) },
        { "4x4 s2 p1 45x45 C=29", Conv2dSpec.Square(1, 29, 45, 45, 10, 4, 2, 1) },
        { "1x1 s1 p0 23x23 C=300", Conv2dSpec.Square(2, 300, 23, 23, 11, 1) },
    };

    [Theory]
    [MemberData(nameof(LargerGeometries))]
    public void Conv2d_Larger_MatchesReference(string name, Conv2dSpec s)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 21);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 22, 0.2);
        var b = OpHarness.Randn(s.K, 23);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 24);
        var y = h.Zeros(s.YShape.ToArray());
        h.Ops.Conv2dForward(y, h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), h.Tensor(b, s.K), s);
        Close.Assert($"conv {name}", y.AsSpan(), Reference(s, x, w, b), 1e-4, 1e-4);

        var got = Backward(h, s, x, w, dy);
        var (ex, ew, eb) = ReferenceBackward(s, x, w, dy);
        Close.Assert($"conv {name} dx", got[0], ex, 1e-4, 1e-4);
        Close.Assert($"conv {name} dweight", got[1], ew, 1e-4, 1e-3);
        Close.Assert($"conv {name} dbias", got[2], eb, 1e-4, 1e-3);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_Bands_MatchReference(string name, Conv2dSpec s)
    {
        // A column workspace of one output row forces the banded im2col used for very large images.
        using var h = new OpHarness();
        h.Ops.MaxColumnFloats = 1;
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 31);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 32, 0.5);
        var b = OpHarness.Randn(s.K, 33);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 34);
        var y = h.Zeros(s.YShape.ToArray());
        h.Ops.Conv2dForward(y, h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), h.Tensor(b, s.K), s);
        Close.Assert($"conv {name} banded", y.AsSpan(), Reference(s, x, w, b), 1e-4, 1e-5);
        var got = Backward(h, s, x, w, dy);
        var (ex, ew, eb) = ReferenceBackward(s, x, w, dy);
        Close.Assert($"conv {name} banded dx", got[0], ex, 1e-4, 1e-5);
        Close.Assert($"conv {name} banded dweight", got[1], ew, 1e-4, 1e-5);
        Close.Assert($"conv {name} banded dbias", got[2], eb, 1e-4, 1e-5);
    }

    public static TheoryData<string, Conv2dSpec> GroupGeometries() => new()
    {
        // P = 100: six images per group (GroupColumns 512), so 13 images make groups of 6, 6 and 1.
        { "3x3 s1 p1 10x10 N=13", Conv2dSpec.Square(13, 3, 10, 10, 4, 3, 1, 1) },
        // P = 4 (a PatchGAN's last layers): every image in one group, a GEMM with K = N·P for dweight.
        { "4x4 s2 p1 4x4 N=9", Conv2dSpec.Square(9, 5, 4, 4, 6, 4, 2, 1) },
        // P = 576 ≥ 512: one image per group, three groups.
        { "3x3 s1 p1 24x24 N=3", Conv2dSpec.Square(3, 2, 24, 24, 3, 3, 1, 1) },
    };

    [Theory]
    [MemberData(nameof(GroupGeometries))]
    public void Conv2d_ImageGroups_MatchReference(string name, Conv2dSpec s)
    {
        // Three threads: groups run in parallel lanes for forward and dx; dweight sums the groups in order.
        using var h = new OpHarness(3);
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 41);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 42, 0.5);
        var b = OpHarness.Randn(s.K, 43);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 44);
        AssertForward(h, name, s, x, w, b);
        var got = Backward(h, s, x, w, dy);
        var (ex, ew, eb) = ReferenceBackward(s, x, w, dy);
        Close.Assert($"conv {name} dx", got[0], ex, 1e-4, 1e-5);
        Close.Assert($"conv {name} dweight", got[1], ew, 1e-4, 1e-4);
        Close.Assert($"conv {name} dbias", got[2], eb, 1e-4, 1e-4);
    }

    [Fact]
    public void Conv2d_Backward_AccumulatesParameterGradients()
    {
        var s = Conv2dSpec.Square(2, 3, 7, 6, 4, 3, 1, 1);
        using var h = new OpHarness();
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 7);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 8);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 9);
        var fresh = Backward(h, s, x, w, dy);

        var prevW = OpHarness.Randn(fresh[1].Length, 10);
        var prevB = OpHarness.Randn(fresh[2].Length, 11);
        var dw = h.Tensor(prevW, s.WeightShape.ToArray());
        var db = h.Tensor(prevB, s.K);
        h.Ops.Conv2dBackward(Engine.Tensors.Tensor.None, dw, db, h.Tensor(dy, s.YShape.ToArray()), h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), s);
        Close.Assert("dweight accumulates", dw.AsSpan(), prevW.Select((v, i) => v + fresh[1][i]).ToArray(), 1e-5, 1e-5);
        Close.Assert("dbias accumulates", db.AsSpan(), prevB.Select((v, i) => v + fresh[2][i]).ToArray(), 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(3, 1, 1)]
    [InlineData(1, 1, 0)]
    public void Conv2d_Backward_NoneOutputsAreSkipped(int kernel, int stride, int pad)
    {
        var s = Conv2dSpec.Square(2, 3, 7, 6, 4, kernel, stride, pad);
        using var h = new OpHarness();
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 12);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 13);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 14);
        var all = Backward(h, s, x, w, dy);
        var tx = h.Tensor(x, s.XShape.ToArray());
        var tw = h.Tensor(w, s.WeightShape.ToArray());
        var tdy = h.Tensor(dy, s.YShape.ToArray());
        var none = Engine.Tensors.Tensor.None;

        var dx = h.Zeros(s.XShape.ToArray());
        h.Ops.Conv2dBackward(dx, none, none, tdy, none, tw, s); // x is not needed for dx
        Close.Bitwise("dx alone", dx.AsSpan(), all[0]);

        var dw = h.Zeros(s.WeightShape.ToArray());
        h.Ops.Conv2dBackward(none, dw, none, tdy, tx, none, s); // weight is not needed for dweight
        Close.Bitwise("dweight alone", dw.AsSpan(), all[1]);

        var db = h.Zeros(s.K);
        h.Ops.Conv2dBackward(none, none, db, tdy, none, none, s);
        Close.Bitwise("dbias alone", db.AsSpan(), all[2]);

        h.Ops.Conv2dBackward(none, none, none, tdy, none, none, s); // nothing to do, nothing read
    }

    [Theory]
    [InlineData(2, 24, 19, 21)] // one group of two images, its GEMMs split over the threads
    [InlineData(13, 3, 10, 10)] // groups of 6, 6 and 1 images in parallel lanes
    [InlineData(5, 4, 24, 23)] // one image per group, five groups over the lanes
    public void Conv2d_Deterministic_AcrossThreadCounts(int n, int c, int height, int width)
    {
        var s = Conv2dSpec.Square(n, c, height, width, 40, 3, 1, 1);
        var x = OpHarness.Randn(s.N * s.C * s.H * s.W, 15);
        var w = OpHarness.Randn(s.K * s.C * s.R * s.S, 16);
        var b = OpHarness.Randn(s.K, 17);
        var dy = OpHarness.Randn(s.N * s.K * s.OutH * s.OutW, 18);
        float[][] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var y = h.Zeros(s.YShape.ToArray());
            h.Ops.Conv2dForward(y, h.Tensor(x, s.XShape.ToArray()), h.Tensor(w, s.WeightShape.ToArray()), h.Tensor(b, s.K), s);
            return [y.AsSpan().ToArray(), .. Backward(h, s, x, w, dy)];
        }
        var r1 = Run(1);
        var r2 = Run(2);
        var r3 = Run(3);
        string[] names = ["y", "dx", "dweight", "dbias"];
        for (int i = 0; i < names.Length; i++)
        {
            Close.Bitwise($"conv {names[i]} 1 vs 2 threads", r1[i], r2[i]);
            Close.Bitwise($"conv {names[i]} 1 vs 3 threads", r1[i], r3[i]);
        }
    }

    [Fact]
    public void Conv2d_BadShapes_Throw()
    {
        var s = Conv2dSpec.Square(2, 3, 7, 6, 4, 3, 1, 1);
        using var h = new OpHarness();
        var x = h.Zeros(s.XShape.ToArray());
        var w = h.Zeros(s.WeightShape.ToArray());
        var b = h.Zeros(s.K);
        var y = h.Zeros(s.YShape.ToArray());
        var none = Engine.Tensors.Tensor.None;
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(h.Zeros(2, 4, 7, 7), x, w, b, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(y, h.Zeros(2, 3, 7, 7), w, b, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(y, x, h.Zeros(4, 3, 3, 2), b, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(y, x, w, h.Zeros(5), s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(y, x, w, b, s with { PadH = 0, H = 2 }));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dForward(y, x, w, b, s with { StrideW = 0 }));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dBackward(h.Zeros(2, 3, 7, 5), none, none, y, x, w, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dBackward(none, h.Zeros(4, 3, 3, 2), none, y, x, w, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dBackward(none, none, h.Zeros(3), y, x, w, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dBackward(none, none, none, h.Zeros(2, 4, 7, 5), x, w, s));
        Assert.Throws<ArgumentException>(() => h.Ops.Conv2dBackward(x, none, none, y, x, none, s)); // dx needs weight
    }
}
