using Engine.Cpu;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class BiasTests
{
    private static double[] RowBiasRef(double[] y, double[] b)
    {
        var r = (double[])y.Clone();
        for (int i = 0; i < r.Length; i++) r[i] += b[i % b.Length];
        return r;
    }

    private static double[] ChannelBiasRef(double[] y, double[] b, int inner)
    {
        var r = (double[])y.Clone();
        for (int i = 0; i < r.Length; i++) r[i] += b[i / inner];
        return r;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 13)]
    [InlineData(130, 77)]
    public void AddRowBias_ForwardAndBackward(int rows, int c)
    {
        using var h = new OpHarness();
        var y0 = OpHarness.Randn(rows * c, 1);
        var b = OpHarness.Randn(c, 2);
        var y = h.Tensor(y0, rows, c);
        h.Ops.AddRowBias(y, h.Tensor(b, c));
        Close.Assert("row bias", y.AsSpan(), RowBiasRef(y0, b));

        GradCheck.Run("AddRowBias", [("bias", b)], x => RowBiasRef(y0, x[0]), (x, dy) =>
        {
            var db = h.Tensor(new double[c], c);
            h.Ops.AddRowBiasBackward(db, h.Tensor(dy, rows, c));
            return [db.AsSpan().ToArray()];
        });
    }

    [Fact]
    public void AddRowBiasBackward_Accumulates_AndIsThreadCountIndependent()
    {
        using var h = new OpHarness();
        int rows = 301, c = 150;
        var dy = h.Tensor(OpHarness.Randn(rows * c, 3), rows, c);
        var d1 = h.Tensor(OpHarness.Randn(c, 4), c);
        var d3 = h.Tensor(OpHarness.Randn(c, 4), c);
        var start = d1.AsSpan().ToArray();
        new CpuOps(1).AddRowBiasBackward(d1, dy);
        new CpuOps(3).AddRowBiasBackward(d3, dy);
        Close.Bitwise("dbias 1 vs 3 threads", d1.AsSpan(), d3.AsSpan());
        var e = new double[c];
        var pdy = dy.AsSpan();
        for (int j = 0; j < c; j++)
        {
            e[j] = start[j];
            for (int r = 0; r < rows; r++) e[j] += pdy[r * c + j];
        }
        Close.Assert("dbias accumulates", d1.AsSpan(), e, 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 13)]
    public void AddChannelBias_ForwardAndBackward(int n, int c, int inner)
    {
        using var h = new OpHarness();
        var y0 = OpHarness.Randn(n * c * inner, 5);
        var b = OpHarness.Randn(n * c, 6);
        var y = h.Tensor(y0, n, c, inner);
        h.Ops.AddChannelBias(y, h.Tensor(b, n, c));
        Close.Assert("channel bias", y.AsSpan(), ChannelBiasRef(y0, b, inner));

        GradCheck.Run("AddChannelBias", [("b", b)], x => ChannelBiasRef(y0, x[0], inner), (x, dy) =>
        {
            var db = h.Tensor(OpHarness.Randn(n * c, 9), n, c); // garbage: must be overwritten
            h.Ops.AddChannelBiasBackward(db, h.Tensor(dy, n, c, inner));
            return [db.AsSpan().ToArray()];
        });
    }

    [Fact]
    public void BadShapes_Throw()
    {
        using var h = new OpHarness();
        Assert.Throws<ArgumentException>(() => h.Ops.AddRowBias(h.Zeros(3, 5), h.Zeros(4)));
        Assert.Throws<ArgumentException>(() => h.Ops.AddChannelBias(h.Zeros(2, 3, 4), h.Zeros(3, 2)));
    }
}
