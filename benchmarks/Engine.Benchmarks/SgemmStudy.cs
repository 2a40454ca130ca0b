using System.Diagnostics;
using System.Globalization;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Benchmarks;

/// <summary>
/// `--sgemm-study`: why one run of ours against OpenBLAS at 2 threads gave 0.59 and the next 1.04. Every shape is
/// timed in many rounds (each round keeps the best of a few calls per side) and the median of the per-round ratio is
/// reported with its spread, under one of four protocols:
/// <list type="bullet">
/// <item>`interleaved`: ours and OpenBLAS alternate call by call in one process (what `--summary` does);</item>
/// <item>`blocked`: in one process, all of a round's calls of one side, a pause, then the other side's;</item>
/// <item>`processes`: each side in a process of its own (this program again, `--sgemm-side`), alternating by round,
/// so neither side's threads can be alive while the other is timed;</item>
/// <item>`ours` / `openblas`: one side alone, for a profile or a process of `processes`.</item>
/// </list>
/// OpenBLAS's own knobs are its environment variables (OPENBLAS_THREAD_TIMEOUT, OPENBLAS_CORETYPE), passed on to the
/// child processes. Options: `--protocol P`, `--rounds N` (default 21), `--reps N` (calls per side per round, 3),
/// `--threads T` (2), `--pause-ms N` (pause between sides in `blocked`, 200).
/// </summary>
public static unsafe class SgemmStudy
{
    private sealed class Options
    {
        public string Protocol = "interleaved";
        public int Rounds = 21, Reps = 3, Threads = 2, PauseMs = 200;
    }

    public static void Run(string[] args)
    {
        var o = Parse(args);
        if (args[0] == "--sgemm-side")
        {
            // A child of `processes`: one round of one side, one "shape seconds" line per shape.
            using var shapes = new ShapeSet();
            bool ours = o.Protocol == "ours";
            foreach (var (name, time) in shapes.TimeSide(ours, o.Threads, o.Reps))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {time:R}"));
            return;
        }

        Console.WriteLine($"OpenBLAS: {OpenBlas.Config}; OPENBLAS_CORETYPE={Env("OPENBLAS_CORETYPE")}, " +
            $"OPENBLAS_THREAD_TIMEOUT={Env("OPENBLAS_THREAD_TIMEOUT")}; protocol {o.Protocol}, {o.Rounds} rounds, " +
            $"best of {o.Reps} calls per side per round, {o.Threads} threads, {Environment.ProcessorCount} CPUs");
        Console.WriteLine($"after one OpenBLAS call, its threads used {SpinAfterCall(o.Threads):F2} CPU-seconds while the caller slept 0.5 s");
        var ratios = new Dictionary<string, List<(double Ours, double Blas)>>();
        foreach (var s in GemmShapes.All) ratios[s] = [];

        using (var shapes = o.Protocol == "processes" ? null : new ShapeSet())
        {
            for (int r = 0; r < o.Rounds; r++)
            {
                var round = o.Protocol switch
                {
                    "interleaved" => shapes!.TimeInterleaved(o.Threads, o.Reps),
                    "blocked" => Blocked(shapes!, o),
                    "processes" => Processes(o, r),
                    "ours" => shapes!.TimeSide(true, o.Threads, o.Reps).Select(x => (x.Name, x.Time, double.NaN)).ToList(),
                    "openblas" => shapes!.TimeSide(false, o.Threads, o.Reps).Select(x => (x.Name, double.NaN, x.Time)).ToList(),
                    _ => throw new ArgumentException($"--protocol: unknown '{o.Protocol}' (interleaved, blocked, processes, ours, openblas)"),
                };
                foreach (var (name, ours, blas) in round) ratios[name].Add((ours, blas));
                Console.Error.Write($"\rround {r + 1}/{o.Rounds}");
            }
            Console.Error.WriteLine();
        }

        Console.WriteLine();
        Console.WriteLine("| M×N×K | ours GFLOP/s (median) | OpenBLAS GFLOP/s (median) | ours/OpenBLAS median | min – max | rounds under 0.95 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, rows) in ratios)
        {
            double f = GemmShapes.Flops(name) / 1e9;
            var ratio = rows.Select(x => x.Blas / x.Ours).Where(double.IsFinite).Order().ToArray();
            string ours = Median(rows.Select(x => f / x.Ours)), blas = Median(rows.Select(x => f / x.Blas));
            // One side alone: the spread of its own rate instead, to see whether its threads always got both cores.
            var alone = rows.Select(x => f / (double.IsFinite(x.Ours) ? x.Ours : x.Blas)).Order().ToArray();
            string spread = ratio.Length > 0 ? $"{ratio[0]:F2} – {ratio[^1]:F2}" : $"{alone[0]:F1} – {alone[^1]:F1} GFLOP/s";
            string under = ratio.Length == 0 ? "" : $"{ratio.Count(x => x < 0.95)} of {ratio.Length}";
            Console.WriteLine($"| {name} | {ours} | {blas} | {Median(ratio)} | {spread} | {under} |");
        }
    }

    /// <summary>
    /// What OpenBLAS's workers do between calls: the process's CPU time over a 0.5 s sleep right after a 1024³ call.
    /// About 0.1 s with the default OPENBLAS_THREAD_TIMEOUT (they spin), zero with 4 (they sleep at once).
    /// </summary>
    private static double SpinAfterCall(int threads)
    {
        using var arena = new NativeArena();
        const int n = 1024;
        var a = arena.Alloc(n, n);
        var c = arena.Alloc(n, n);
        OpenBlas.SetNumThreads(threads);
        OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, n, n, n, 1f, a.F32, n, a.F32, n, 0f, c.F32, n);
        Thread.Sleep(600); // the warm-up call's own spin ends first
        OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, n, n, n, 1f, a.F32, n, a.F32, n, 0f, c.F32, n);
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        Thread.Sleep(500);
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalSeconds;
    }

    private static List<(string, double, double)> Blocked(ShapeSet shapes, Options o)
    {
        var ours = shapes.TimeSide(true, o.Threads, o.Reps);
        Thread.Sleep(o.PauseMs);
        var blas = shapes.TimeSide(false, o.Threads, o.Reps);
        Thread.Sleep(o.PauseMs);
        return ours.Zip(blas, (x, y) => (x.Name, x.Time, y.Time)).ToList();
    }

    /// <summary>One round as two child processes; which side goes first alternates with the round.</summary>
    private static List<(string, double, double)> Processes(Options o, int round)
    {
        Dictionary<string, double> Child(string side)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
            if (!Environment.ProcessPath!.EndsWith("Engine.Benchmarks", StringComparison.Ordinal))
                psi.ArgumentList.Add(typeof(SgemmStudy).Assembly.Location); // run as `dotnet Engine.Benchmarks.dll`
            foreach (var a in new[] { "--sgemm-side", "--protocol", side, "--threads", $"{o.Threads}", "--reps", $"{o.Reps}" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"--sgemm-side {side} exited with {p.ExitCode}");
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(x => x[0], x => double.Parse(x[1], CultureInfo.InvariantCulture));
        }
        Dictionary<string, double> ours, blas;
        if (round % 2 == 0) { ours = Child("ours"); blas = Child("openblas"); }
        else { blas = Child("openblas"); ours = Child("ours"); }
        return GemmShapes.All.Select(s => (s, ours[s], blas[s])).ToList();
    }

    private static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--protocol": o.Protocol = Next(); break;
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--reps": o.Reps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": o.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--pause-ms": o.PauseMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"--sgemm-study: unknown argument '{args[i]}'");
            }
        }
        return o;
    }

    private static string Env(string name) => Environment.GetEnvironmentVariable(name) ?? "(unset)";

    private static string Median(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).Order().ToArray();
        if (v.Length == 0) return "";
        double m = v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
        return m.ToString(m >= 10 ? "F1" : "F2", CultureInfo.InvariantCulture);
    }

    /// <summary>Every shape's A, B, C allocated and filled once, and each side warmed on it.</summary>
    private sealed class ShapeSet : IDisposable
    {
        private readonly NativeArena _arena = new();
        private readonly List<(string Name, Tensor A, Tensor B, Tensor C)> _shapes = [];
        private readonly Dictionary<int, CpuOps> _ops = [];

        public ShapeSet()
        {
            foreach (var name in GemmShapes.All)
            {
                var (m, n, k) = GemmShapes.Parse(name);
                var a = _arena.Alloc(m, k);
                var b = _arena.Alloc(k, n);
                Quick.Fill(a.AsSpan(), 1);
                Quick.Fill(b.AsSpan(), 2);
                _shapes.Add((name, a, b, _arena.Alloc(m, n)));
            }
        }

        private Action Call(bool ours, int threads, (string Name, Tensor A, Tensor B, Tensor C) s)
        {
            var (m, n, k) = GemmShapes.Parse(s.Name);
            if (ours)
            {
                if (!_ops.TryGetValue(threads, out var ops)) _ops[threads] = ops = new CpuOps(threads);
                var spec = GemmSpec.Dense(m, n, k);
                return () => ops.Gemm(s.C, s.A, s.B, spec);
            }
            OpenBlas.SetNumThreads(threads);
            return () => OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans,
                m, n, k, 1f, s.A.F32, k, s.B.F32, n, 0f, s.C.F32, n);
        }

        public List<(string Name, double Time)> TimeSide(bool ours, int threads, int reps)
        {
            var result = new List<(string, double)>();
            foreach (var s in _shapes)
            {
                var call = Call(ours, threads, s);
                call();
                double best = double.MaxValue;
                for (int r = 0; r < reps; r++) best = Math.Min(best, Quick.Time(call));
                result.Add((s.Name, best));
            }
            return result;
        }

        public List<(string, double, double)> TimeInterleaved(int threads, int reps) =>
            _shapes.Select(s =>
            {
                var (ours, blas) = Quick.BestOfPairs(reps, Call(true, threads, s), Call(false, threads, s));
                return (s.Name, ours, blas);
            }).ToList();

        public void Dispose() => _arena.Dispose();
    }
}
