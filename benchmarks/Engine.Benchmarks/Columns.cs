using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

/// <summary>Throughput from the median time and a per-case FLOP count (flop per ns = GFLOP/s).</summary>
public sealed class GflopsColumn(Func<BenchmarkCase, double> flops) : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations (multiply and add counted separately) per second, from the median time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? "-" : (flops(benchmarkCase) / stats.Median).ToString("F1");
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}

/// <summary>
/// Our speed relative to a reference method with the same parameters: reference median time / this median time,
/// so 1.10 means ours is 10 % faster. Medians, because on a 2-core machine one preempted iteration moves a mean.
/// Shown on our rows only.
/// </summary>
public sealed class SpeedRatioColumn(string ours, string reference) : IColumn
{
    public string Id => nameof(SpeedRatioColumn) + reference;

    public string ColumnName => $"{ours}/{reference}";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Speed of {ours} relative to {reference} at the same parameters, from median times (> 1: {ours} is faster)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Descriptor.WorkloadMethod.Name != ours) return "";
        var other = summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.WorkloadMethod.Name == reference && c.Parameters.DisplayInfo == benchmarkCase.Parameters.DisplayInfo);
        var mine = summary[benchmarkCase]?.ResultStatistics;
        var theirs = other is null ? null : summary[other]?.ResultStatistics;
        return mine is null || theirs is null ? "-" : (theirs.Median / mine.Median).ToString("F2");
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
