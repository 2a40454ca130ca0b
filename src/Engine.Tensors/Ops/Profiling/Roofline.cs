using System.Diagnostics;
using Engine.Tensors;

namespace Engine.Ops.Profiling;

/// <summary>
/// The two limits a profile is read against, measured on the backend itself: the rate of a large square SGEMM (the
/// ceiling of the compute-bound ops) and the bandwidth of a STREAM triad, y = y + α·x over arrays far larger than the
/// caches (the ceiling of the memory-bound ones: 3 arrays × 4 bytes per element).
/// </summary>
public sealed record Roofline(string Backend, double GflopPerSecond, string GemmShape, double GbPerSecond, string TriadShape, int Repetitions = 1)
{
    /// <summary>
    /// The median of a few repetitions of each, after one untimed warm-up. The median, not the best: on a shared
    /// machine a run of three could be all slow or hold one lucky call, and the families it is read against were
    /// timed under the same conditions over a whole step.
    /// </summary>
    public static Roofline Measure(IOps ops, int gemmSize = 2048, int triadFloats = 32 << 20, int repetitions = 7)
    {
        ArgumentNullException.ThrowIfNull(ops);
        using var arena = ops.CreateArena();
        int n = gemmSize;
        var a = arena.Alloc(new Shape(n, n), zero: false);
        var b = arena.Alloc(new Shape(n, n), zero: false);
        var c = arena.Alloc(new Shape(n, n), zero: false);
        ops.RandomNormal(a, 1, 0);
        ops.RandomNormal(b, 2, 0);
        var spec = new GemmSpec(n, n, n, false, false, n, n, n, 0, 0, 0);
        double gemm = Median(ops, repetitions, () => ops.Gemm(c, a, b, spec));
        var x = arena.Alloc(new Shape(triadFloats));
        var y = arena.Alloc(new Shape(triadFloats));
        double triad = Median(ops, repetitions, () => ops.Axpy(y, 0.5f, x));
        return new Roofline(ops.Name, 2.0 * n * n * n / gemm / 1e9, $"{n}×{n}×{n}", 12.0 * triadFloats / triad / 1e9, $"{triadFloats / (1 << 20)} Mi floats", Math.Max(1, repetitions));
    }

    private static double Median(IOps ops, int repetitions, Action run)
    {
        run();
        ops.Synchronize();
        var times = new double[Math.Max(1, repetitions)];
        for (int i = 0; i < times.Length; i++)
        {
            long t = Stopwatch.GetTimestamp();
            run();
            ops.Synchronize();
            times[i] = Stopwatch.GetElapsedTime(t).TotalSeconds;
        }
        Array.Sort(times);
        int mid = times.Length / 2;
        return times.Length % 2 == 1 ? times[mid] : 0.5 * (times[mid - 1] + times[mid]);
    }
}
