using Engine.Cpu;
using Engine.Ops;
using Engine.Ops.Profiling;
using Engine.Tensors;

namespace Engine.Tests.Ops;

/// <summary>The profiling decorator: results unchanged, every call charged to its family with the right FLOPs or bytes.</summary>
public class ProfilingOpsTests
{
    [Fact]
    public void Ops_GiveTheSameResults_AndAreChargedToTheirFamilies()
    {
        var cpu = new CpuOps(2);
        var profile = new OpProfile();
        var ops = new ProfilingOps(cpu, profile);
        using var arena = ops.CreateArena();
        var a = arena.Alloc(new Shape(8, 16));
        var b = arena.Alloc(new Shape(16, 4));
        var c = arena.Alloc(new Shape(8, 4));
        var expected = arena.Alloc(new Shape(8, 4));
        ops.RandomNormal(a, 1, 0);
        ops.RandomNormal(b, 2, 0);
        var spec = new GemmSpec(8, 4, 16, false, false, 16, 4, 4, 0, 0, 0);
        ops.Gemm(c, a, b, spec);
        cpu.Gemm(expected, a, b, spec);
        Assert.True(c.AsSpan().SequenceEqual(expected.AsSpan()));

        var x = arena.Alloc(new Shape(1, 3, 6, 6));
        var w = arena.Alloc(new Shape(5, 3, 3, 3));
        var y = arena.Alloc(new Shape(1, 5, 6, 6));
        ops.Conv2dForward(y, x, w, Tensor.None, new Conv2dSpec(1, 3, 6, 6, 5, 3, 3, 1, 1, 1, 1));
        ops.Axpy(c, 2f, expected);

        var table = profile.Table(new Roofline("test", 100, "n/a", 10, "n/a"));
        // GEMM: 2·8·4·16 = 1024 FLOPs; conv: 2·(1·5·6·6)·(3·3·3) = 9720 FLOPs; elementwise: the two random fills
        // (128 + 64 floats) and the axpy (two 32-float tensors): 768 + 256 = 1024 bytes.
        Assert.Equal(1024, profile.Flops(OpFamily.Gemm));
        Assert.Equal(9720, profile.Flops(OpFamily.ConvForward));
        Assert.Equal(1024, profile.Bytes(OpFamily.Elementwise));
        // The CPU times its im2col apart: the 27 × 36 column matrix, written once and read once (8 bytes a float).
        Assert.Equal(8 * 27 * 36, profile.Bytes(OpFamily.Im2Col));
        Assert.Contains("| Gemm | 1 |", table);
        Assert.Contains("| ConvForward | 1 |", table);
        Assert.Contains("| Im2Col | 1 |", table);
        Assert.DoesNotContain("AttentionForward", table);
    }

    [Fact]
    public void Roofline_MeasuresPositiveLimits()
    {
        var r = Roofline.Measure(new CpuOps(2), gemmSize: 64, triadFloats: 1 << 16, repetitions: 1);
        Assert.True(r.GflopPerSecond > 0 && r.GbPerSecond > 0, r.ToString());
    }

    [Fact]
    public void Roofline_IsTheMedianOfItsRepetitions_AndTheTableSaysSo()
    {
        var r = Roofline.Measure(new CpuOps(2), gemmSize: 64, triadFloats: 1 << 16, repetitions: 4);
        Assert.Equal(4, r.Repetitions);
        Assert.Contains("median of 4 after a warm-up", new OpProfile().Table(r), StringComparison.Ordinal);
    }
}
