using BenchmarkDotNet.Attributes;
using Engine.Cpu;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Benchmarks;

/// <summary>GroupNorm at the UNet's first ResBlock: x [1, 320, 64, 64], 32 groups.</summary>
[ShortRunJob]
[BenchmarkCategory("Norm")]
public class GroupNormBenchmarks
{
    private const int Groups = 32;
    private NativeArena _arena = null!;
    private CpuOps _ops = null!;
    private Tensor _x, _y, _dy, _dx, _gamma, _beta, _dgamma, _dbeta, _mean, _rstd;

    [GlobalSetup]
    public void Setup()
    {
        _arena = new NativeArena();
        _ops = new CpuOps();
        var shape = new Shape(1, 320, 64, 64);
        _x = Random(shape, 1);
        _dy = Random(shape, 2);
        _gamma = Random(new Shape(320), 3);
        _beta = Random(new Shape(320), 4);
        _y = _arena.Alloc(shape);
        _dx = _arena.Alloc(shape);
        _dgamma = _arena.Alloc(new Shape(320));
        _dbeta = _arena.Alloc(new Shape(320));
        _mean = _arena.Alloc(new Shape(1, Groups));
        _rstd = _arena.Alloc(new Shape(1, Groups));
        _ops.GroupNormForward(_y, _mean, _rstd, _x, _gamma, _beta, Groups, 1e-5f);
    }

    private Tensor Random(Shape shape, int seed)
    {
        var t = _arena.Alloc(shape);
        var rng = new Random(seed);
        var span = t.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    [GlobalCleanup]
    public void Cleanup() => _arena.Dispose();

    [Benchmark]
    public float Forward()
    {
        _ops.GroupNormForward(_y, _mean, _rstd, _x, _gamma, _beta, Groups, 1e-5f);
        return _y.AsSpan()[0];
    }

    [Benchmark]
    public float Backward()
    {
        _ops.GroupNormBackward(_dx, _dgamma, _dbeta, _dy, _x, _mean, _rstd, _gamma, Groups);
        return _dx.AsSpan()[0];
    }
}
