using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Benchmarks;

/// <summary>
/// Our SGEMM against OpenBLAS cblas_sgemm on the same buffers and thread count (row-major, C = A·B).
/// Run: dotnet run -c Release --project benchmarks/Engine.Benchmarks -- --filter '*Sgemm*' [--job short]
/// </summary>
[Config(typeof(Config))]
[BenchmarkCategory("Sgemm")]
public unsafe class SgemmBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(StatisticColumn.Median);
            AddColumn(new GflopsColumn(c => GemmShapes.Flops((string)c.Parameters["Shape"])));
            AddColumn(new SpeedRatioColumn(nameof(Ours), nameof(OpenBlas)));
        }
    }

    private NativeArena _arena = null!;
    private CpuOps _ops = null!;
    private Tensor _a, _b, _c;
    private int _m, _n, _k;

    public static IEnumerable<string> Shapes => GemmShapes.All;

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_m, _n, _k) = GemmShapes.Parse(Shape);
        _arena = new NativeArena();
        _a = _arena.Alloc(_m, _k);
        _b = _arena.Alloc(_k, _n);
        _c = _arena.Alloc(_m, _n);
        Quick.Fill(_a.AsSpan(), 1);
        Quick.Fill(_b.AsSpan(), 2);
        _ops = new CpuOps(Threads);
        Engine.Benchmarks.OpenBlas.SetNumThreads(Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _arena.Dispose();

    [Benchmark]
    public void Ours() => _ops.Gemm(_c, _a, _b, GemmSpec.Dense(_m, _n, _k));

    [Benchmark]
    public void OpenBlas() => Engine.Benchmarks.OpenBlas.Sgemm(Engine.Benchmarks.OpenBlas.RowMajor,
        Engine.Benchmarks.OpenBlas.NoTrans, Engine.Benchmarks.OpenBlas.NoTrans,
        _m, _n, _k, 1f, _a.F32, _k, _b.F32, _n, 0f, _c.F32, _n);
}
