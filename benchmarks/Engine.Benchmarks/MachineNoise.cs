using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Benchmarks;

/// <summary>
/// `--machine-noise`: how steady the machine itself is, with none of our code in the way. Two kinds of fixed work,
/// each run 300 times as 6 equal tasks over `Parallel.For` at 1 and at 2 threads:
/// <list type="bullet">
/// <item>FMA-bound: eight independent AVX-512 (or AVX2) FMA chains on registers, the micro-kernel's kind of work,
/// with no memory traffic; it slows down when another hardware thread shares the core's FMA units;</item>
/// <item>latency-bound: one scalar dependency chain, which a shared core barely slows.</item>
/// </list>
/// The median and 90th percentile of a call's wall time, and how often the two threads did not split the tasks 3/3.
/// If the FMA-bound work spreads while the latency-bound work does not, the spread comes from the host (another
/// tenant on the core's other hardware thread), not from thread wake-ups or the scheduling of the tasks.
/// </summary>
public static class MachineNoise
{
    public static void Run()
    {
        Console.WriteLine($"{Environment.ProcessorCount} CPUs; {(Avx512F.IsSupported ? "AVX-512" : "AVX2")} FMA chains");
        Console.WriteLine("| work | threads | call median (ms) | 90th percentile | p90 / median | calls not split 3/3 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, work) in new (string, Func<double>)[] { ("FMA-bound", FmaChains), ("latency-bound", Latency) })
        {
            foreach (int threads in new[] { 1, 2 })
            {
                var (median, p90, uneven) = Time(work, threads);
                Console.WriteLine($"| {name} | {threads} | {median:F2} | {p90:F2} | {p90 / median:F2} | {(threads == 1 ? "" : $"{uneven} of 300")} |");
            }
        }
    }

    private static (double Median, double P90, int Uneven) Time(Func<double> work, int threads)
    {
        const int rounds = 300, tasks = 6;
        var opts = new ParallelOptions { MaxDegreeOfParallelism = threads };
        var walls = new double[rounds];
        int uneven = 0;
        double sink = 0;
        for (int r = -5; r < rounds; r++)
        {
            int caller = Environment.CurrentManagedThreadId, byCaller = 0;
            long t0 = Stopwatch.GetTimestamp();
            Parallel.For(0, tasks, opts, _ =>
            {
                if (Environment.CurrentManagedThreadId == caller) Interlocked.Increment(ref byCaller);
                double v = work();
                lock (opts) sink += v;
            });
            if (r < 0) continue; // warm-up
            walls[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (threads > 1 && byCaller != tasks / 2) uneven++;
        }
        if (sink == 42) Console.WriteLine(); // keep the work
        Array.Sort(walls);
        return (walls[rounds / 2], walls[rounds * 9 / 10], uneven);
    }

    private static double FmaChains()
    {
        if (!Avx512F.IsSupported) return FmaAvx2();
        var a = Vector512.Create(1.0001f);
        var b = Vector512.Create(1e-9f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int i = 0; i < 2_000_000; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, a, b);
            c1 = Avx512F.FusedMultiplyAdd(c1, a, b);
            c2 = Avx512F.FusedMultiplyAdd(c2, a, b);
            c3 = Avx512F.FusedMultiplyAdd(c3, a, b);
            c4 = Avx512F.FusedMultiplyAdd(c4, a, b);
            c5 = Avx512F.FusedMultiplyAdd(c5, a, b);
            c6 = Avx512F.FusedMultiplyAdd(c6, a, b);
            c7 = Avx512F.FusedMultiplyAdd(c7, a, b);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7).GetElement(0);
    }

    private static double FmaAvx2()
    {
        var a = Vector256.Create(1.0001f);
        var b = Vector256.Create(1e-9f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int i = 0; i < 2_000_000; i++)
        {
            c0 = Fma.MultiplyAdd(c0, a, b);
            c1 = Fma.MultiplyAdd(c1, a, b);
            c2 = Fma.MultiplyAdd(c2, a, b);
            c3 = Fma.MultiplyAdd(c3, a, b);
            c4 = Fma.MultiplyAdd(c4, a, b);
            c5 = Fma.MultiplyAdd(c5, a, b);
            c6 = Fma.MultiplyAdd(c6, a, b);
            c7 = Fma.MultiplyAdd(c7, a, b);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7).GetElement(0);
    }

    private static double Latency()
    {
        double x = 1.0001, acc = 0;
        for (int i = 0; i < 1_000_000; i++) acc = acc * x + 1e-9;
        return acc;
    }
}
