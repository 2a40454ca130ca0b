using Engine.Cpu;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class LayoutTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 13)]
    [InlineData(3, 77, 40)]
    public void Transpose_MatchesReference_AndIsThreadCountIndependent(int b, int r, int c)
    {
        using var h = new OpHarness();
        var x = OpHarness.Randn(b * r * c, 1);
        var e = new double[x.Length];
        for (int n = 0; n < b; n++)
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++) e[n * r * c + j * r + i] = x[n * r * c + i * c + j];
        var y1 = h.Zeros(b, c, r);
        var y3 = h.Zeros(b, c, r);
        new CpuOps(1).Transpose(y1, h.Tensor(x, b, r, c), b, r, c);
        new CpuOps(3).Transpose(y3, h.Tensor(x, b, r, c), b, r, c);
        Close.Assert("transpose", y1.AsSpan(), e, 0, 0);
        Close.Bitwise("transpose 1 vs 3 threads", y1.AsSpan(), y3.AsSpan());
    }

    [Fact]
    public void Transpose_WrongSize_Throws()
    {
        using var h = new OpHarness();
        Assert.Throws<ArgumentException>(() => h.Ops.Transpose(h.Zeros(2, 3), h.Zeros(3, 3), 1, 2, 3));
    }
}
