using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;
using EngineTensor = Engine.Tensors.Tensor;

namespace Engine.Benchmarks;

/// <summary>
/// Memory-bound optimizer and gradient-surgery passes over a DoCo-sized flat buffer (20M floats) against a
/// STREAM-like triad a[i] = b[i] + s·c[i] over the same size, measured in the same run with the same thread
/// count. The GB/s column counts the bytes each pass must move; "of triad" is that bandwidth over the triad's
/// (target ≥ 80%). Run: see docs/benchmarks.md, "Bandwidth".
/// </summary>
[Config(typeof(BandwidthConfig))]
public class BandwidthBenchmarks
{
    public const int N = 20_000_000;

    /// <summary>Bytes moved per element: reads plus writes, 4 bytes each.</summary>
    internal static readonly Dictionary<string, int> BytesPerElement = new()
    {
        [nameof(Triad)] = 12,                 // read b, c; write a
        [nameof(AdamW)] = 28,                 // read p, g, m, v; write p, m, v
        [nameof(SegmentDot)] = 8,             // read a, b
        [nameof(SegmentSumSquares)] = 4,      // read x
    };

    [Params(1, 2)]
    public int Threads { get; set; }

    private NativeArena _arena = null!;
    private CpuOps _ops = null!;
    private ParallelOptions _workers = null!;
    private EngineTensor _p, _g, _m, _v, _a, _b, _c, _result;
    private SegmentTable _segments = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ops = new CpuOps(Threads);
        _workers = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        _arena = new NativeArena(64L << 20);
        _p = _arena.Alloc(N); _g = _arena.Alloc(N); _m = _arena.Alloc(N); _v = _arena.Alloc(N);
        _a = _arena.Alloc(N); _b = _arena.Alloc(N); _c = _arena.Alloc(N);
        _ops.RandomNormal(_p, 1, 0);
        _ops.RandomNormal(_g, 2, 0);
        _ops.RandomNormal(_b, 3, 0);
        _ops.RandomNormal(_c, 4, 0);
        _segments = DocoLikeSegments();
        _result = _arena.Alloc(_segments.Count);
    }

    /// <summary>
    /// About 100 segments like a UNet's trainable tensors: 50 small ones (biases, norms: 320–1280 floats)
    /// and 50 large ones sharing the rest (projection weights), in an interleaved order.
    /// </summary>
    private static SegmentTable DocoLikeSegments()
    {
        var sizes = new List<long>();
        long small = 0;
        for (int i = 0; i < 50; i++) small += 320 * (1 + i % 4);
        long large = (N - small) / 50;
        for (int i = 0; i < 50; i++)
        {
            sizes.Add(320 * (1 + i % 4));
            sizes.Add(i < 49 ? large : N - small - 49 * large);
        }
        return SegmentTable.FromSizes(sizes);
    }

    [GlobalCleanup]
    public void Cleanup() => _arena.Dispose();

    [Benchmark(Baseline = true)]
    public void Triad()
    {
        nint a = _a.Ptr, b = _b.Ptr, c = _c.Ptr;
        const int chunk = 65536;
        Parallel.For(0, (N + chunk - 1) / chunk, _workers, k =>
        {
            long start = (long)k * chunk;
            int len = (int)Math.Min(chunk, N - start);
            TensorPrimitives.MultiplyAdd(Span(c, start, len), 3.0f, Span(b, start, len), Span(a, start, len));
        });
    }

    private static unsafe Span<float> Span(nint p, long start, int len) => new((float*)p + start, len);

    [Benchmark]
    public void AdamW() => _ops.AdamStep(_p, _g, _m, _v, new AdamSpec(1e-5f, WeightDecay: 1e-2f), 10);

    [Benchmark]
    public void SegmentSumSquares() => _ops.SegmentSumSquares(_result, _g, _segments);

    [Benchmark]
    public void SegmentDot() => _ops.SegmentDot(_result, _g, _p, _segments);
}

public class BandwidthConfig : ManualConfig
{
    public BandwidthConfig()
    {
        AddColumn(new BandwidthColumn(fractionOfTriad: false), new BandwidthColumn(fractionOfTriad: true));
        HideColumns(Column.Ratio, Column.RatioSD); // time ratios to the triad; the byte-weighted ratio is the useful one
    }
}

/// <summary>GB/s from the mean time and <see cref="BandwidthBenchmarks.BytesPerElement"/>, or that over the triad's GB/s at the same thread count.</summary>
public sealed class BandwidthColumn(bool fractionOfTriad) : IColumn
{
    public string Id => fractionOfTriad ? "OfTriad" : "GBps";

    public string ColumnName => fractionOfTriad ? "of triad" : "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => fractionOfTriad ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => fractionOfTriad
        ? "Bandwidth over the STREAM-like triad's at the same thread count (target >= 80%)"
        : "Bytes the pass must move (reads + writes) per second, 1 GB = 1e9 bytes";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? gbps = Bandwidth(summary, benchmarkCase);
        if (gbps is null) return "?";
        if (!fractionOfTriad) return gbps.Value.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        var triad = summary.Reports.Select(r => r.BenchmarkCase).FirstOrDefault(c =>
            c.Descriptor.WorkloadMethod.Name == nameof(BandwidthBenchmarks.Triad) &&
            Equals(c.Parameters["Threads"], benchmarkCase.Parameters["Threads"]));
        double? t = triad is null ? null : Bandwidth(summary, triad);
        return t is null or 0 ? "?" : (gbps.Value / t.Value).ToString("P0", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static double? Bandwidth(Summary summary, BenchmarkCase c)
    {
        var stats = summary[c]?.ResultStatistics;
        if (stats is null || !BandwidthBenchmarks.BytesPerElement.TryGetValue(c.Descriptor.WorkloadMethod.Name, out int bytes)) return null;
        double seconds = stats.Mean * 1e-9;
        return (double)bytes * BandwidthBenchmarks.N / seconds / 1e9;
    }

    public override string ToString() => ColumnName;
}
