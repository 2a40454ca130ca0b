using System.CommandLine;
using System.Diagnostics;
using Engine.Cli.Selftest;
using Engine.Cuda;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco selftest --backend cuda</c>: every kernel on the GPU against its CpuOps twin on the same random inputs
/// (the table in <see cref="SelftestOps"/>), one line per op with the max abs and max rel error and PASS/FAIL.
/// Exit 0 all pass, 1 any FAIL (or an op that threw), 2 without a usable GPU (the reason is printed).
/// </summary>
internal static class SelftestCommand
{
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "cuda (the only backend with kernels to check)", DefaultValueFactory = _ => "cuda" };
        var filter = new Option<string?>("--filter") { Description = "only ops whose name contains this text" };
        Options Bind(ParseResult parse) => new(parse.GetValue(backend)!, parse.GetValue(filter));
        return new BoundCommand<Options>("selftest", "Run every CUDA kernel against the CPU ops on random inputs and report the errors.", Bind, Run) { backend, filter };
    }

    /// <param name="Filter">null: every op</param>
    public sealed record Options(string Backend, string? Filter);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var (backend, filter) = o;
        if (backend != "cuda")
        {
            error.WriteLine($"selftest: --backend must be cuda, not '{backend}' (the CPU ops are the reference)");
            return 2;
        }
        // A filter that selects nothing would report "0 passed, 0 failed" and exit 0: a typo must not read as a pass.
        if (filter is not null && !SelftestOps.All.Any(op => op.Name.Contains(filter, StringComparison.Ordinal)))
        {
            error.WriteLine($"selftest: --filter '{filter}' matches no op (op names are case-sensitive, e.g. '{SelftestOps.All[0].Name}')");
            return 2;
        }
        using var ctx = CudaContext.TryCreate(out string reason);
        if (ctx is null)
        {
            error.WriteLine(reason);
            return 2;
        }
        output.WriteLine($"GPU: {ctx.Name}, {ctx.TotalMemory / (1 << 20)} MiB");
        return RunAll(new CudaDevice(ctx), filter, output);
    }

    /// <summary>Runs the table on <paramref name="device"/>; the test suite calls this with the CPU emulator.</summary>
    public static int RunAll(ISelftestDevice device, string? filter, TextWriter output)
    {
        int failures = 0, passed = 0, skipped = 0;
        output.WriteLine($"{"op",-34} {"max abs err",12} {"max rel err",12} {"tolerance",-22} result");
        foreach (var op in SelftestOps.All)
        {
            if (filter is not null && !op.Name.Contains(filter, StringComparison.Ordinal)) continue;
            string tolerance = op.Rtol == 0 && op.Atol == 0 ? "bitwise" : $"rtol {op.Rtol:0.#e0} atol {op.Atol:0.#e0}";
            if (op.NeedsCublas && device.Cuda is null)
            {
                skipped++;
                output.WriteLine($"{op.Name,-34} {"",12} {"",12} {tolerance,-22} SKIP (needs cuBLAS on a GPU)");
                continue;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                using var rig = new SelftestRig(device, seed: Seed(op.Name));
                var (gpu, cpu) = op.Run(rig);
                device.Synchronize();
                var (maxAbs, maxRel, bad, worst) = Compare(gpu, cpu, op.Rtol, op.Atol);
                bool ok = bad == 0 && gpu.Length == cpu.Length;
                if (ok) passed++; else failures++;
                string detail = ok ? "" : gpu.Length != cpu.Length ? $"  ({gpu.Length} vs {cpu.Length} values)"
                                                                   : $"  ({bad} of {cpu.Length} out; worst [{worst}] gpu {gpu[worst]:R} cpu {cpu[worst]:R})";
                output.WriteLine($"{op.Name,-34} {maxAbs,12:0.000e0} {maxRel,12:0.000e0} {tolerance,-22} {(ok ? "PASS" : "FAIL")}{detail}  {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
            catch (Exception e) when (e is CudaException or ArgumentException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
            {
                failures++;
                output.WriteLine($"{op.Name,-34} {"",12} {"",12} {tolerance,-22} FAIL ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
            }
        }
        output.WriteLine($"selftest: {passed} passed, {failures} failed, {skipped} skipped");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Max |g − c|, max |g − c|/|c| (over c ≠ 0), the count outside atol + rtol·|c| (NaN counts), the worst index.</summary>
    public static (double MaxAbs, double MaxRel, int Bad, int Worst) Compare(ReadOnlySpan<float> gpu, ReadOnlySpan<float> cpu, double rtol, double atol)
    {
        double maxAbs = 0, maxRel = 0, worstExcess = double.NegativeInfinity;
        int bad = 0, worst = 0;
        for (int i = 0; i < Math.Min(gpu.Length, cpu.Length); i++)
        {
            double g = gpu[i], c = cpu[i];
            bool same = g.Equals(c); // bit-equal values, NaN == NaN, ±inf == ±inf
            double diff = same ? 0 : Math.Abs(g - c);
            if (double.IsNaN(diff)) diff = double.PositiveInfinity;
            maxAbs = Math.Max(maxAbs, diff);
            if (c != 0) maxRel = Math.Max(maxRel, diff / Math.Abs(c));
            double excess = diff - (atol + rtol * Math.Abs(c));
            if (excess > 0) bad++;
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }
        return (maxAbs, maxRel, bad, worst);
    }

    /// <summary>A fixed seed per op (string.GetHashCode is randomized per process).</summary>
    private static int Seed(string name)
    {
        int h = 17;
        foreach (char ch in name) h = unchecked(h * 31 + ch);
        return h & 0x7fffffff;
    }
}
