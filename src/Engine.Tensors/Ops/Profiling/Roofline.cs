using System.Diagnostics;
using Engine.Tensors;

namespace Engine.Ops.Profiling;

/// <summary>
/// The two limits a profile is read against, measured on the backend itself: the rate of a large square SGEMM (the
/// ceiling of the compute-bound ops) and the bandwidth of a STREAM triad, y = y + α·x over arrays far larger than the
/// caches (the ceiling of the memory-bound ones: 3 arrays × 4 bytes per element).
/// </summary>
public sealed record Roofline(string Backend, double GflopPerSecond, string GemmShape, double GbPerSecond, string TriadShape)
{
    /// <summary>Best of a few repetitions of each, after one untimed warm-up.</summary>
    public static Roofline Measure(IOps ops, int gemmSize = 2048, int triadFloats = 32 << 20, int repetitions = 3)
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
        double gemm = Best(ops, repetitions, () => ops.Gemm(c, a, b, spec));
        var x = arena.Alloc(new Shape(triadFloats));
        var y = arena.Alloc(new Shape(triadFloats));
        double triad = Best(ops, repetitions, () => ops.Axpy(y, 0.5f, x));
        return new Roofline(ops.Name, 2.0 * n * n * n / gemm / 1e9, $"{n}×{n}×{n}", 12.0 * triadFloats / triad / 1e9, $"{triadFloats / (1 << 20)} Mi floats");
    }

    private static double Best(IOps ops, int repetitions, Action run)
    {
        run();
        ops.Synchronize();
        double best = double.MaxValue;
        for (int i = 0; i < repetitions; i++)
        {
            long t = Stopwatch.GetTimestamp();
            run();
            ops.Synchronize();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalSeconds);
        }
        return best;
    }
}
