using System.Diagnostics;
using Engine.Cpu;
using Engine.Memory;
using Engine.Ops;

namespace Engine.Benchmarks;

/// <summary>
/// `--summary`: a stopwatch run (best of a few repetitions) of every SGEMM shape, ours vs OpenBLAS at 1 and 2
/// threads, then conv2d forward/backward at UNet shapes, printed as Markdown tables. Minutes, not the half hour
/// BenchmarkDotNet takes; for development and sanity checks. Optional arguments: thread counts (e.g. `--summary 1`),
/// `--reps N` (best of N, default 5), `--cpu` (thread CPU clock, 1 thread only), `--no-conv`, `--attention` (only the
/// attention table, <see cref="Attention"/>).
/// </summary>
public static unsafe partial class Quick
{
    public static void Run(string[] args)
    {
        int reps = 5;
        bool noConv = false, kernelOnly = false, attentionOnly = false;
        var threads = new List<int>();
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--reps") reps = int.Parse(args[++i]);
            else if (args[i] == "--cpu") s_cpuClock = true;
            else if (args[i] == "--no-conv") noConv = true;
            else if (args[i] == "--kernel") kernelOnly = true;
            else if (args[i] == "--attention") attentionOnly = true;
            else threads.Add(int.Parse(args[i]));
        }
        if (threads.Count == 0) threads.AddRange([1, 2]);

        if (kernelOnly)
        {
            KernelPeak(reps);
            return;
        }
        if (attentionOnly)
        {
            Attention(threads, reps);
            return;
        }
        // Calls alternate with OpenBLAS's below; without this its spinning workers take a core from ours.
        string timeout = OpenBlas.UseThreadTimeout("4");
        Console.WriteLine($"OpenBLAS: {OpenBlas.Config}; OPENBLAS_THREAD_TIMEOUT={timeout}");
        Console.WriteLine();
        Console.WriteLine("| M×N×K | threads | ours GFLOP/s | OpenBLAS GFLOP/s | ours/OpenBLAS |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var shape in GemmShapes.All)
        {
            var (m, n, k) = GemmShapes.Parse(shape);
            using var arena = new NativeArena();
            var a = arena.Alloc(m, k);
            var b = arena.Alloc(k, n);
            var c = arena.Alloc(m, n);
            Fill(a.AsSpan(), 1);
            Fill(b.AsSpan(), 2);
            foreach (int t in threads)
            {
                var ops = new CpuOps(t);
                var spec = GemmSpec.Dense(m, n, k);
                OpenBlas.SetNumThreads(t);
                // Interleaved so both see the same machine load; the best of each is kept.
                var (ours, blas) = BestOfPairs(reps,
                    () => ops.Gemm(c, a, b, spec),
                    () => OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans,
                        m, n, k, 1f, a.F32, k, b.F32, n, 0f, c.F32, n));
                double f = GemmShapes.Flops(shape) / 1e9;
                Console.WriteLine($"| {shape} | {t} | {f / ours:F1} | {f / blas:F1} | {blas / ours:F2} |");
            }
        }
        if (!noConv) Conv(threads, reps);
    }

    /// <summary>`--kernel`: the AVX-512 micro-kernel alone on L1/L2-resident panels, the ceiling for the whole GEMM.</summary>
    private static void KernelPeak(int reps)
    {
        const int kc = Engine.Cpu.Sgemm.SgemmDriver.KC, panels = 7;
        using var arena = new NativeArena();
        var a = arena.Alloc(kc * 8);
        var b = arena.Alloc(kc * 48 * panels);
        var c = arena.Alloc(8 * 48 * panels);
        Fill(a.AsSpan(), 1);
        Fill(b.AsSpan(), 2);
        float* pa = a.F32, pb = b.F32, pc = c.F32;
        void Run()
        {
            for (int it = 0; it < 1000; it++)
                for (int j = 0; j < panels; j++)
                    Engine.Cpu.Sgemm.Avx512Kernel.Run(kc, pa, pb + j * kc * 48, 48, pc + j * 48, 48 * panels, 1f, 1f);
        }
        var (t, _) = BestOfPairs(reps, Run, () => { });
        Console.WriteLine($"micro-kernel 8x48, kc={kc}: {2.0 * 8 * 48 * kc * panels * 1000 / t / 1e9:F1} GFLOP/s");
    }

    /// <summary>
    /// `--attention`: forward and backward at every Stable Diffusion 1.5 attention shape (batch 1, 512 px: self and cross
    /// attention at 64×64, 32×32, 16×16, 8×8 latents, and the CLIP text encoder's causal 77 tokens), each set against a
    /// 2048³ SGEMM timed the same way (same clock, same threads) just before. FLOPs as in the profile: 4·B·H·Tq·Tk·D
    /// forward, 10·B·H·Tq·Tk·D backward.
    /// </summary>
    private static void Attention(List<int> threads, int reps)
    {
        (string Name, AttentionSpec Spec)[] shapes =
        [
            ("self 64×64, d 40", new AttentionSpec(1, 4096, 4096, 8, 40)),
            ("cross 64×64 × 77, d 40", new AttentionSpec(1, 4096, 77, 8, 40)),
            ("self 32×32, d 80", new AttentionSpec(1, 1024, 1024, 8, 80)),
            ("cross 32×32 × 77, d 80", new AttentionSpec(1, 1024, 77, 8, 80)),
            ("self 16×16, d 160", new AttentionSpec(1, 256, 256, 8, 160)),
            ("self 8×8, d 160", new AttentionSpec(1, 64, 64, 8, 160)),
            ("CLIP causal 77, 12 × d 64", new AttentionSpec(1, 77, 77, 12, 64, Causal: true)),
        ];
        Console.WriteLine("| attention (B=1) | threads | forward GFLOP/s | of SGEMM | backward GFLOP/s | of SGEMM |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (int t in threads)
        {
            var ops = new CpuOps(t);
            double sgemm;
            using (var arena = new NativeArena())
            {
                const int n = 2048;
                var a = arena.Alloc(n, n);
                var b = arena.Alloc(n, n);
                var c = arena.Alloc(n, n);
                Fill(a.AsSpan(), 1);
                Fill(b.AsSpan(), 2);
                var spec = GemmSpec.Dense(n, n, n);
                sgemm = 2.0 * n * n * n / BestOfPairs(reps, () => ops.Gemm(c, a, b, spec), () => { }).First / 1e9;
            }
            foreach (var (name, s) in shapes)
            {
                using var arena = new NativeArena();
                var q = arena.Alloc(s.QShape);
                var k = arena.Alloc(s.KvShape);
                var v = arena.Alloc(s.KvShape);
                var dout = arena.Alloc(s.QShape);
                var o = arena.Alloc(s.QShape);
                var lse = arena.Alloc(s.LseShape);
                var dq = arena.Alloc(s.QShape);
                var dk = arena.Alloc(s.KvShape);
                var dv = arena.Alloc(s.KvShape);
                Fill(q.AsSpan(), 1);
                Fill(k.AsSpan(), 2);
                Fill(v.AsSpan(), 3);
                Fill(dout.AsSpan(), 4);
                var (fwd, bwd) = BestOfPairs(reps, () => ops.AttentionForward(o, lse, q, k, v, s),
                    () => ops.AttentionBackward(dq, dk, dv, dout, q, k, v, o, lse, s));
                double f = 4.0 * s.B * s.Heads * s.Tq * s.Tk * s.HeadDim / 1e9;
                Console.WriteLine($"| {name} | {t} | {f / fwd:F1} | {f / fwd / sgemm:P0} | {2.5 * f / bwd:F1} | {2.5 * f / bwd / sgemm:P0} |");
            }
            Console.WriteLine($"| SGEMM 2048³ (the reference) | {t} | {sgemm:F1} | | | |");
        }
    }

    private static void Conv(List<int> threads, int reps)
    {
        Console.WriteLine();
        Console.WriteLine("| conv (N=1) | threads | forward GFLOP/s | backward GFLOP/s |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var layer in ConvLayers.All)
        {
            var s = ConvLayers.Spec(layer);
            using var arena = new NativeArena();
            var x = arena.Alloc(s.XShape);
            var w = arena.Alloc(s.WeightShape);
            var b = arena.Alloc(s.K);
            var y = arena.Alloc(s.YShape);
            var dx = arena.Alloc(s.XShape);
            var dw = arena.Alloc(s.WeightShape);
            var db = arena.Alloc(s.K);
            Fill(x.AsSpan(), 1);
            Fill(w.AsSpan(), 2);
            foreach (int t in threads)
            {
                var ops = new CpuOps(t);
                var (fwd, bwd) = BestOfPairs(reps, () => ops.Conv2dForward(y, x, w, b, s), () => ops.Conv2dBackward(dx, dw, db, y, x, w, s));
                double f = ConvLayers.ForwardFlops(layer) / 1e9;
                Console.WriteLine($"| {layer} | {t} | {f / fwd:F1} | {2 * f / bwd:F1} |");
            }
        }
    }

    internal static (double First, double Second) BestOfPairs(int reps, Action first, Action second)
    {
        first();
        second();
        double b1 = double.MaxValue, b2 = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            b1 = Math.Min(b1, Time(first));
            b2 = Math.Min(b2, Time(second));
        }
        return (b1, b2);
    }

    /// <summary>`--cpu`: time by this thread's CPU clock, which a busy machine's preemption does not inflate (1 thread only).</summary>
    private static bool s_cpuClock;

    internal static double Time(Action run)
    {
        if (s_cpuClock)
        {
            double c0 = ThreadCpuSeconds();
            run();
            return ThreadCpuSeconds() - c0;
        }
        long t0 = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static double ThreadCpuSeconds()
    {
        Timespec ts;
        if (ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, &ts) != 0) throw new InvalidOperationException("clock_gettime failed");
        return ts.Sec + ts.Nsec * 1e-9;
    }

    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, Timespec* ts);

    internal static void Fill(Span<float> s, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1);
    }
}
