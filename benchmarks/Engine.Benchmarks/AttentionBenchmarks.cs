using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Benchmarks;

/// <summary>
/// Attention at Stable Diffusion 1.5's first-level shapes (64×64 latent → 4096 tokens, 8 heads of 40):
/// self-attention 4096×4096 and cross-attention against 77 text tokens. Each call takes seconds on a CPU,
/// hence the monitoring job with few iterations.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[BenchmarkCategory("Attention")]
public class AttentionBenchmarks
{
    private NativeArena _arena = null!;
    private CpuOps _ops = null!;
    private AttentionSpec _spec;
    private Tensor _q, _k, _v, _o, _lse, _dout, _dq, _dk, _dv;

    [Params("self 4096x4096 h8 d40", "cross 4096x77 h8 d40")]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        int tk = Case.StartsWith("self", StringComparison.Ordinal) ? 4096 : 77;
        _spec = new AttentionSpec(B: 1, Tq: 4096, Tk: tk, Heads: 8, HeadDim: 40);
        _arena = new NativeArena();
        _ops = new CpuOps();
        _q = Random(_spec.QShape, 1);
        _k = Random(_spec.KvShape, 2);
        _v = Random(_spec.KvShape, 3);
        _dout = Random(_spec.QShape, 4);
        _o = _arena.Alloc(_spec.QShape);
        _lse = _arena.Alloc(_spec.LseShape);
        _dq = _arena.Alloc(_spec.QShape);
        _dk = _arena.Alloc(_spec.KvShape);
        _dv = _arena.Alloc(_spec.KvShape);
        _ops.AttentionForward(_o, _lse, _q, _k, _v, _spec);
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
        _ops.AttentionForward(_o, _lse, _q, _k, _v, _spec);
        return _o.AsSpan()[0];
    }

    [Benchmark]
    public float Backward()
    {
        _ops.AttentionBackward(_dq, _dk, _dv, _dout, _q, _k, _v, _o, _lse, _spec);
        return _dk.AsSpan()[0];
    }
}
