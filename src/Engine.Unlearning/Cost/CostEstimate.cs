using System.Globalization;
using System.Text;

namespace Engine.Unlearning.Cost;

/// <summary>
/// What <see cref="CostProbe"/> measured on one backend: seconds of one UNet forward call at the UNet batches it ran,
/// and one training iteration of each kind at batch <see cref="StepBatch"/>.
/// </summary>
public sealed record ProbeTimes
{
    /// <summary>The backend's name (with its thread count on the CPU).</summary>
    public required string Backend { get; init; }

    /// <summary>Seconds per UNet forward call (no backward), by the call's batch; at least one entry.</summary>
    public required IReadOnlyDictionary<int, double> Forward { get; init; }

    /// <summary>The batch B the iterations were timed at (the run's own, or 1 when that would have been too slow).</summary>
    public int StepBatch { get; init; } = 1;

    /// <summary>A DoCo warm-up (discriminator-only) iteration; NaN when the run has none.</summary>
    public double WarmupStepSeconds { get; init; } = double.NaN;

    /// <summary>An iteration that trains the UNet; for ESD without its partial sampling and θ*'s pass, which the
    /// estimate adds from <see cref="Forward"/> (their number is random per iteration). NaN when the run has none.</summary>
    public double StepSeconds { get; init; } = double.NaN;

    /// <summary>
    /// Seconds of one forward call at batch <paramref name="batch"/>: the measured time; between two measured batches
    /// the straight line through them (a fixed cost per call plus a cost per image); beyond the largest, that one's
    /// time per image; below the smallest, its time per image.
    /// </summary>
    public double ForwardSeconds(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (Forward.Count == 0) throw new InvalidOperationException("no forward pass was timed");
        if (Forward.TryGetValue(batch, out double t)) return t;
        var below = Forward.Keys.Where(k => k < batch).ToList();
        var above = Forward.Keys.Where(k => k > batch).ToList();
        if (below.Count > 0 && above.Count > 0)
        {
            int lo = below.Max(), hi = above.Min();
            return Forward[lo] + (Forward[hi] - Forward[lo]) * (batch - lo) / (hi - lo);
        }
        int from = below.Count > 0 ? below.Max() : above.Min();
        return Forward[from] * batch / from;
    }

    /// <summary>
    /// How much longer an iteration at batch <paramref name="batch"/> takes than one at <see cref="StepBatch"/>: as
    /// the UNet's forward call at the trainable pass's batch (2B) does, since the UNet passes are most of an iteration;
    /// at most in proportion to the batch (timings on a busy machine can say more).
    /// </summary>
    public double StepScale(int batch)
    {
        if (batch == StepBatch) return 1;
        double ratio = ForwardSeconds(2 * batch) / ForwardSeconds(2 * StepBatch), linear = (double)batch / StepBatch;
        return batch > StepBatch ? Math.Min(ratio, linear) : Math.Max(ratio, linear);
    }
}

/// <summary>One line of the estimate: a phase, its work in words, its seconds.</summary>
public sealed record CostPhase(string Name, string Work, double Seconds);

/// <summary>
/// The time an erase run will take on one backend: each phase's work (<see cref="CostPlan"/>) times the probe's
/// per-unit times (<see cref="ProbeTimes"/>). Sampling: DDIM steps × the sum over its calls of one UNet call's
/// seconds at that call's batch (images × passes); with calls of B images, images × steps × passes × (call seconds / UNet batch).
/// Training: iterations × iteration seconds × <see cref="ProbeTimes.StepScale"/> (B / probed B where the UNet's
/// time grows in proportion to its batch); ESD adds its expected partial-sampling calls. Loading, text encoding, checkpoints and writing the model
/// are not counted (seconds to minutes next to the UNet passes).
/// </summary>
public sealed record CostEstimate(CostPlan Plan, ProbeTimes Probe, IReadOnlyList<CostPhase> Phases)
{
    public double TotalSeconds => Phases.Sum(p => p.Seconds);

    public static CostEstimate Compute(CostPlan plan, ProbeTimes probe)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(probe);
        var phases = new List<CostPhase>();
        foreach (var s in plan.Sampling)
            phases.Add(new CostPhase(s.Phase, s.Work, s.Cached ? 0 : s.Steps * s.Calls.Sum(n => probe.ForwardSeconds(s.Passes * n))));
        phases.Add(Training(plan, probe));
        return new CostEstimate(plan, probe, phases);
    }

    private static CostPhase Training(CostPlan plan, ProbeTimes probe)
    {
        var s = plan.Settings;
        int b = s.Batch, warm = plan.WarmupSteps, full = plan.FullSteps;
        double scale = probe.StepScale(b);
        double seconds = (warm > 0 ? warm * probe.WarmupStepSeconds * scale : 0) + (full > 0 ? full * probe.StepSeconds * scale : 0);
        if (s.Method == ErasureMethod.Esd && full > 0) seconds += full * plan.EsdCallsPerStep * probe.ForwardSeconds(2 * b);
        string work = s.Method switch
        {
            ErasureMethod.DoCo when warm > 0 && full > 0 => $"{warm} warm-up (D only) + {full} full steps, batch {b}",
            ErasureMethod.DoCo when warm > 0 => $"{warm} warm-up steps (D only), batch {b}",
            ErasureMethod.Esd => $"{full} steps, batch {b}, each after ~{plan.EsdCallsPerStep - 1:0.#} guided DDIM steps",
            _ => $"{full} steps, batch {b}",
        };
        if (plan.StepsDone > 0) work += $" (resuming at step {plan.StepsDone})";
        return new CostPhase($"training ({Name(s.Method)})", work, seconds);
    }

    private static string Name(ErasureMethod m) => m switch
    {
        ErasureMethod.DoCo => "DoCo",
        ErasureMethod.ConceptAblation => "CA",
        _ => "ESD",
    };

    /// <summary>The phase that takes longest.</summary>
    public CostPhase Largest => Phases.MaxBy(p => p.Seconds)!;

    /// <summary>The estimate as a small table: a header naming the backend and what was timed, one line per phase, the total.</summary>
    public string Table()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var p = Probe;
        var timed = string.Join(", ", p.Forward.OrderBy(kv => kv.Key).Select(kv => string.Create(c, $"{Seconds(kv.Value)} at batch {kv.Key}")));
        sb.Append(c, $"estimate on {p.Backend}, from a timed probe: UNet forward {timed}");
        if (!double.IsNaN(p.WarmupStepSeconds) || !double.IsNaN(p.StepSeconds))
        {
            sb.Append(c, $"; {Name(Plan.Settings.Method)} iteration at batch {p.StepBatch}:");
            if (!double.IsNaN(p.WarmupStepSeconds)) sb.Append(c, $" warm-up {Seconds(p.WarmupStepSeconds)}");
            if (!double.IsNaN(p.StepSeconds)) sb.Append(c, $"{(double.IsNaN(p.WarmupStepSeconds) ? "" : ",")} full {Seconds(p.StepSeconds)}");
            int b = Plan.Settings.Batch;
            if (b != p.StepBatch) sb.Append(c, $" (×{p.StepScale(b):0.##} for batch {b}, as the forward pass scales)");
        }
        sb.Append('\n');
        int name = Math.Max("phase".Length, Phases.Max(x => x.Name.Length));
        int work = Math.Max("work".Length, Phases.Max(x => x.Work.Length));
        sb.Append(c, $"  {"phase".PadRight(name)}  {"work".PadRight(work)}  time\n");
        foreach (var x in Phases) sb.Append(c, $"  {x.Name.PadRight(name)}  {x.Work.PadRight(work)}  {Duration(x.Seconds)}\n");
        sb.Append(c, $"  {"total".PadRight(name)}  {"".PadRight(work)}  {Duration(TotalSeconds)}\n");
        sb.Append("  (not counted: loading, text encoding, checkpoints, writing the model)");
        return sb.ToString();
    }

    /// <summary>A probe time: milliseconds below a second.</summary>
    private static string Seconds(double s) => s < 1
        ? string.Create(CultureInfo.InvariantCulture, $"{s * 1e3:0.#} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{s:0.##} s");

    /// <summary>A duration a person reads at a glance: seconds, minutes, hours or days, two or three digits.</summary>
    public static string Duration(double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        if (double.IsNaN(seconds) || seconds < 0) return "?";
        if (seconds < 0.1) return string.Create(c, $"{seconds * 1e3:0} ms");
        if (seconds < 10) return string.Create(c, $"{seconds:0.#} s");
        if (seconds < 90) return string.Create(c, $"{seconds:0} s");
        if (seconds < 90 * 60) return string.Create(c, $"{seconds / 60:0.#} min");
        if (seconds < 24 * 3600) return string.Create(c, $"{seconds / 3600:0.#} h");
        return string.Create(c, $"{seconds / 86400:0.#} days");
    }
}
