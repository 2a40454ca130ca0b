using System.CommandLine;
using System.Globalization;
using Engine.Diffusion.Verification;
using Engine.IO.Safetensors;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco verify &lt;fixture-folder&gt; [--verbose] [--backend auto|cpu|cuda]</c>: runs every model and scheduler of
/// the engine on a reference fixture folder (docs/fixtures.md) and compares each output with the stored reference.
/// Prints a table (group, output, error, tolerance, PASS/FAIL): every compared tensor with --verbose, otherwise
/// each group's worst output plus every failure; then a summary line. Exit 0 all pass, 1 any FAIL, 2 when the
/// folder is not a usable fixture (the message names every missing file or key) or a model cannot load.
/// </summary>
internal static class VerifyCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var folder = new Argument<string>("fixture-folder") { Description = "a fixture folder: diffusers components plus cases.safetensors (docs/fixtures.md)" };
        var verbose = new Option<bool>("--verbose") { Description = "one line for every compared tensor, not only each group's worst and the failures" };
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        Options Bind(ParseResult parse) => new(parse.GetValue(folder)!, parse.GetValue(verbose), parse.GetValue(backend)!);
        return new BoundCommand<Options>("verify", "Compare the engine's models and schedulers with a reference fixture folder.", Bind, Run) { folder, verbose, backend };
    }

    public sealed record Options(string Folder, bool Verbose, string Backend);

    /// <summary>The command itself, with its output streams given (tests pass StringWriters).</summary>
    internal static int Run(Options o, TextWriter stdout, TextWriter stderr)
    {
        var (folder, verbose, backend) = o;
        if (!Directory.Exists(folder))
        {
            stderr.WriteLine($"verify: no such folder: {folder}");
            return 2;
        }
        var ops = Backends.Select(backend, stderr);
        if (ops is null) return 2;
        var verifier = new FixtureVerifier(folder, ops);
        List<ParityResult> results;
        try
        {
            var missing = verifier.Missing();
            if (missing.Count > 0)
            {
                stderr.WriteLine($"verify: {folder} is not a complete fixture folder (docs/fixtures.md); missing:");
                foreach (var m in missing) stderr.WriteLine($"  {m}");
                return 2;
            }
            results = [.. verifier.Run()];
        }
        catch (Exception e) when (e is IOException or InvalidDataException or SafetensorsException or System.Text.Json.JsonException or ArgumentException)
        {
            stderr.WriteLine($"verify: {e.Message}");
            return 2;
        }

        var shown = verbose ? results : Selection(results);
        Print(shown, stdout);
        int failed = results.Count(r => !r.Pass);
        int groups = results.Select(r => r.Group).Distinct().Count();
        var worst = results.MaxBy(Ratio)!;
        stdout.WriteLine();
        stdout.WriteLine($"{results.Count} outputs in {groups} groups: {results.Count - failed} passed, {failed} failed; "
            + $"worst {worst.Name} at {Ratio(worst).ToString("0.00", Inv)}× its tolerance"
            + (verbose ? "" : $" ({shown.Count} shown; --verbose lists all)"));
        return failed > 0 ? 1 : 0;
    }

    /// <summary>Each group's worst output (relative to its tolerance), then every failure not already listed, in run order.</summary>
    private static List<ParityResult> Selection(List<ParityResult> results)
    {
        var keep = new HashSet<ParityResult>(results.GroupBy(r => r.Group).Select(g => g.MaxBy(Ratio)!));
        keep.UnionWith(results.Where(r => !r.Pass));
        return [.. results.Where(keep.Contains)];
    }

    /// <summary>error / tolerance: ≤ 1 passes; an exact (tolerance 0) comparison is 0 or infinite.</summary>
    private static double Ratio(ParityResult r) =>
        double.IsNaN(r.Error) ? double.PositiveInfinity : r.Tolerance > 0 ? r.Error / r.Tolerance : r.Error == 0 ? 0 : double.PositiveInfinity;

    private static void Print(List<ParityResult> rows, TextWriter o)
    {
        var cells = rows.Select(r => (
            r.Group,
            r.Name,
            Error: r.Error.ToString("0.00e+00", Inv),
            Tolerance: r.Tolerance == 0 ? "exact" : r.Tolerance.ToString("0e+00", Inv) + (r.Absolute ? " abs" : ""),
            Result: r.Pass ? "PASS" : "FAIL")).ToList();
        int wg = Math.Max(5, cells.Count == 0 ? 0 : cells.Max(c => c.Group.Length));
        int wn = Math.Max(6, cells.Count == 0 ? 0 : cells.Max(c => c.Name.Length));
        int we = Math.Max(5, cells.Count == 0 ? 0 : cells.Max(c => c.Error.Length));
        int wt = Math.Max(9, cells.Count == 0 ? 0 : cells.Max(c => c.Tolerance.Length));
        o.WriteLine($"{"group".PadRight(wg)}  {"output".PadRight(wn)}  {"error".PadLeft(we)}  {"tolerance".PadLeft(wt)}  result");
        o.WriteLine($"{new string('-', wg)}  {new string('-', wn)}  {new string('-', we)}  {new string('-', wt)}  ------");
        foreach (var c in cells)
            o.WriteLine($"{c.Group.PadRight(wg)}  {c.Name.PadRight(wn)}  {c.Error.PadLeft(we)}  {c.Tolerance.PadLeft(wt)}  {c.Result}");
    }
}
