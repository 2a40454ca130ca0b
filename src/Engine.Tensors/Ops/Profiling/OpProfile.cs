using System.Globalization;
using System.Text;

namespace Engine.Ops.Profiling;

/// <summary>
/// Time, calls, FLOPs and bytes per <see cref="OpFamily"/>, and the table that sets each family against its own limit:
/// the SGEMM rate for the compute-bound families (GEMM, convolution, attention), the STREAM-triad bandwidth for the
/// memory-bound ones, both measured by <see cref="Roofline"/> in the same run.
/// </summary>
public sealed class OpProfile
{
    private readonly double[] _seconds = new double[Count], _flops = new double[Count], _bytes = new double[Count];
    private readonly long[] _calls = new long[Count];

    private static int Count => Enum.GetValues<OpFamily>().Length;

    public void Add(OpFamily family, double seconds, double flops, double bytes)
    {
        int i = (int)family;
        _seconds[i] += seconds;
        _flops[i] += flops;
        _bytes[i] += bytes;
        _calls[i]++;
    }

    public void Clear()
    {
        Array.Clear(_seconds);
        Array.Clear(_flops);
        Array.Clear(_bytes);
        Array.Clear(_calls);
    }

    public double Seconds(OpFamily f) => _seconds[(int)f];

    public long Calls(OpFamily f) => _calls[(int)f];

    public double Flops(OpFamily f) => _flops[(int)f];

    public double Bytes(OpFamily f) => _bytes[(int)f];

    public double TotalSeconds => _seconds.Sum();

    /// <summary>A Markdown table, the largest share first; per step when <paramref name="steps"/> &gt; 1.</summary>
    public string Table(Roofline limits, int steps = 1)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        double total = TotalSeconds;
        sb.AppendLine("| op family | calls | time per step | share | rate | of its limit |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var f in Enum.GetValues<OpFamily>().OrderByDescending(Seconds))
        {
            int i = (int)f;
            if (_calls[i] == 0) continue;
            double s = _seconds[i];
            bool compute = _flops[i] > 0;
            double rate = s > 0 ? (compute ? _flops[i] : _bytes[i]) / s / 1e9 : 0;
            double limit = compute ? limits.GflopPerSecond : limits.GbPerSecond;
            string rateText = compute ? string.Format(c, "{0:F1} GFLOP/s", rate) : string.Format(c, "{0:F1} GB/s", rate);
            sb.AppendLine(string.Format(c, "| {0} | {1:N0} | {2:F3} s | {3:P0} | {4} | {5:P0} |",
                f, _calls[i] / Math.Max(1, steps), s / Math.Max(1, steps), total > 0 ? s / total : 0, rateText, limit > 0 ? rate / limit : 0));
        }
        sb.AppendLine(string.Format(c, "| all ops | | {0:F3} s | 100 % | | |", total / Math.Max(1, steps)));
        sb.Append(string.Format(c, "limits measured in this run on {0}: SGEMM {1:F1} GFLOP/s ({2}), triad {3:F1} GB/s ({4}); median of {5} after a warm-up",
            limits.Backend, limits.GflopPerSecond, limits.GemmShape, limits.GbPerSecond, limits.TriadShape, limits.Repetitions));
        return sb.ToString();
    }
}
