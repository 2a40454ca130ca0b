using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Benchmarks;

/// <summary>SD 1.x UNet convolutions (batch 1). Backward computes dx, dweight and dbias.</summary>
public static class ConvLayers
{
    public static readonly string[] All = ["c320-64x64-k3", "c640-32x32-k3", "c1280-16x16-k3", "c640to320-32x32-k1"];

    public static Conv2dSpec Spec(string name) => name switch
    {
        "c320-64x64-k3" => Conv2dSpec.Square(1, 320, 64, 64, 320, 3, 1, 1),
        "c640-32x32-k3" => Conv2dSpec.Square(1, 640, 32, 32, 640, 3, 1, 1),
        "c1280-16x16-k3" => Conv2dSpec.Square(1, 1280, 16, 16, 1280, 3, 1, 1),
        "c640to320-32x32-k1" => Conv2dSpec.Square(1, 640, 32, 32, 320, 1),
        _ => throw new ArgumentException($"unknown conv layer {name}"),
    };

    /// <summary>Forward multiply-adds × 2; the backward does two such products (dx and dweight).</summary>
    public static double ForwardFlops(string name)
    {
        var s = Spec(name);
        return 2.0 * s.N * s.K * s.C * s.R * s.S * s.OutH * s.OutW;
    }
}

/// <summary>
/// Run: dotnet run -c Release --project benchmarks/Engine.Benchmarks -- --filter '*Conv*' [--job short]
/// </summary>
[Config(typeof(Config))]
[BenchmarkCategory("Conv")]
public class ConvBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(c =>
            ConvLayers.ForwardFlops((string)c.Parameters["Layer"]) * (c.Descriptor.WorkloadMethod.Name == nameof(Backward) ? 2 : 1)));
    }

    private NativeArena _arena = null!;
    private CpuOps _ops = null!;
    private Conv2dSpec _s;
    private Tensor _x, _w, _b, _y, _dx, _dw, _db;

    public static IEnumerable<string> Layers => ConvLayers.All;

    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _s = ConvLayers.Spec(Layer);
        _arena = new NativeArena();
        _x = _arena.Alloc(_s.XShape);
        _w = _arena.Alloc(_s.WeightShape);
        _b = _arena.Alloc(_s.K);
        _y = _arena.Alloc(_s.YShape);
        _dx = _arena.Alloc(_s.XShape);
        _dw = _arena.Alloc(_s.WeightShape);
        _db = _arena.Alloc(_s.K);
        Quick.Fill(_x.AsSpan(), 1);
        Quick.Fill(_w.AsSpan(), 2);
        Quick.Fill(_y.AsSpan(), 3);
        _ops = new CpuOps(Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _arena.Dispose();

    [Benchmark]
    public void Forward() => _ops.Conv2dForward(_y, _x, _w, _b, _s);

    [Benchmark]
    public void Backward() => _ops.Conv2dBackward(_dx, _dw, _db, _y, _x, _w, _s);
}
