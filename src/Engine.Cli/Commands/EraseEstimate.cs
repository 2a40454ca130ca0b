using Engine.Cpu;
using Engine.Diffusion.Schedulers;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Unlearning;
using Engine.Unlearning.Cost;
using Engine.Unlearning.Data;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco erase</c>'s cost estimate (docs/unlearning.md, "Cost estimate and --dry-run"): which phases the run has, whether
/// the probe is worth running, the table, and the warning for a long run on the CPU. The timing and the arithmetic
/// are <see cref="CostProbe"/>'s and <see cref="CostEstimate"/>'s.
/// </summary>
internal static class EraseEstimate
{
    /// <summary>A CPU run estimated longer than this gets a warning naming the options that shorten it.</summary>
    public const double LongCpuRunSeconds = 3 * 3600;

    /// <summary>Before a real run the probe runs only if its UNet work is at most this share of the run's.</summary>
    public const double MaxProbeShare = 0.1;

    public const string AnchorPhase = "anchor images";

    /// <summary>The run as erase has set it up, loaded and checked.</summary>
    public sealed record Inputs(IOps Ops, UNet2DConditionModel Unet, SchedulerConfig Scheduler, int TextLength, int TextDim, ErasureSettings Settings,
        string ModelDir, IReadOnlyList<string> AnchorPrompts, AnchorSettings Anchors, string CacheDir, string? ResumeFrom,
        (string Concept, string Anchor, bool Quick, int RulerSeed)? Ruler);

    /// <summary>
    /// Prints the estimate (with <paramref name="dryRun"/> always; otherwise only where the probe is a small part of
    /// the run). 0, or 2 after one line on <paramref name="error"/> when the run's settings cannot be probed (the
    /// trainer would reject them too) or the checkpoint to resume is unreadable.
    /// </summary>
    public static int Run(Inputs run, bool dryRun, TextWriter output, TextWriter error)
    {
        CostPlan plan;
        try
        {
            plan = Plan(run);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or Engine.IO.Safetensors.SafetensorsException)
        {
            error.WriteLine($"erase: --resume: {e.Message}");
            return 2;
        }
        if (!dryRun && CostProbe.MinimumImagePasses(plan) > MaxProbeShare * plan.ImagePasses) return 0;
        error.WriteLine($"erase: timing a short probe on {run.Ops.Name} for the cost estimate");
        CostEstimate estimate;
        try
        {
            estimate = CostEstimate.Compute(plan, new CostProbe(run.Ops, run.Unet, run.Scheduler, run.TextLength, run.TextDim).Run(plan));
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"erase: {e.Message}");
            return 2;
        }
        output.WriteLine("erase: " + estimate.Table());
        if (run.Ops is CpuOps && estimate.TotalSeconds > LongCpuRunSeconds) error.WriteLine(Warning(estimate, run.Ops.Name, dryRun));
        return 0;
    }

    /// <summary>The run's work: anchor images (unless cached), the ruler's samples of both models if it evaluates, training.</summary>
    public static CostPlan Plan(Inputs run)
    {
        var s = run.Settings;
        var sampling = new List<SamplingWork>();
        bool cached = new AnchorImageCache(run.CacheDir).Find(run.ModelDir, run.AnchorPrompts, run.Anchors) is not null;
        // One sampling call per prompt, each in UNet calls of at most the anchor batch: those are what is timed and counted.
        var anchors = SamplingWork.Chunked(AnchorPhase, AnchorImageCache.ImagesPerCall(s.AnchorCount, run.AnchorPrompts.Count), s.AnchorSteps,
            s.AnchorGuidance != 1f, s.AnchorBatch);
        sampling.Add(anchors with { Cached = cached });
        if (run.Ruler is var (concept, anchor, quick, seed))
        {
            try
            {
                var (ruler, rs) = WorldEvaluation.Settings(concept, anchor, quick, seed);
                sampling.Add(SamplingWork.Chunked("ruler (base + erased)", WorldEvaluation.Images(ruler), rs.Steps, rs.GuidanceScale != 1f, rs.Batch, repeats: 2));
            }
            catch (ArgumentException)
            {
                // The ruler does not know the concept: the run skips the evaluation, and says so.
            }
        }
        int done = run.ResumeFrom is null ? 0 : ErasureTrainer.CheckpointStep(run.ResumeFrom);
        return new CostPlan(s, sampling, done);
    }

    /// <summary>The warning for a long CPU run: how long, how much of it the anchor images are, and what shortens it.</summary>
    public static string Warning(CostEstimate estimate, string backend, bool dryRun)
    {
        var anchors = estimate.Phases.First(p => p.Name == AnchorPhase);
        string share = anchors.Seconds > 0 ? $", {CostEstimate.Duration(anchors.Seconds)} of it for the anchor images ({anchors.Work})" : "";
        return $"erase: warning: this run would take about {CostEstimate.Duration(estimate.TotalSeconds)} on {backend}{share}. " +
            "Shorten it with fewer anchor images (--anchors 100, or fewer --anchor-steps) and fewer --steps, or run it on a GPU " +
            "with --backend cuda" + (dryRun ? "." : "; --dry-run prints this estimate without running.");
    }
}
