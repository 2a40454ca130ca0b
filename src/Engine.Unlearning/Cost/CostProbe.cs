using System.Diagnostics;
using Engine.Diffusion.Schedulers;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Unlearning.Cost;

/// <summary>
/// The short timed probe behind <see cref="CostEstimate"/>, on the run's backend and UNet: UNet forward calls at the
/// sampling batches, then iterations of the run's method (each kind: DoCo's warm-up and full steps) on random anchor
/// latents and text states. Each is repeated until it stops getting faster: the first call JIT-compiles the code
/// and first touches the arenas' memory (on Stable Diffusion the first DoCo step takes about twice as long), and
/// .NET's tiered JIT recompiles the hot methods over the next few calls (on a small UNet the third call can be 4×
/// faster than the first). The UNet's trainable weights are put back afterwards, so the run starts from the loaded
/// ones. Large batches are timed at the largest batch that fits <see cref="BudgetSeconds"/> and scaled linearly.
/// </summary>
public sealed class CostProbe(IOps ops, UNet2DConditionModel unet, SchedulerConfig scheduler, int textLength, int textDim)
{
    /// <summary>About how long the probe may spend on the larger batches of each sampling job (and the most one repeated call may take).</summary>
    public double BudgetSeconds { get; init; } = 5;

    /// <summary>A repeat is run while the last call was faster than this share of the one before (and the budget lasts).</summary>
    private const double Settled = 0.85;

    private const int MaxCalls = 6;

    /// <summary>
    /// Image-passes the probe runs at its least (two calls at UNet batch 2, two iterations of each kind at batch 1):
    /// weighed against <see cref="CostPlan.ImagePasses"/> to skip the probe where it would be a large part of a short run.
    /// </summary>
    public static double MinimumImagePasses(CostPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return 2 * 2 + 2 * KindsPasses(plan, 1);
    }

    /// <summary>Image-passes of one iteration of each kind the run has, at batch <paramref name="b"/>.</summary>
    private static double KindsPasses(CostPlan plan, int b) =>
        (plan.WarmupSteps > 0 ? plan.StepPasses(true, b) : 0) + (plan.FullSteps > 0 ? plan.StepPasses(false, b) : 0);

    public ProbeTimes Run(CostPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var forward = new Dictionary<int, double> { [2] = TimeForward(2) };
        // The sampling jobs' call batches and the trainable pass's 2B (which scales the iterations, and is ESD's
        // sampling batch): each reached by doubling the batch while the next one's two calls fit the budget at the
        // current one's cost per image (per image, a larger batch is usually no slower).
        var batches = plan.Sampling.Where(s => !s.Cached).SelectMany(s => s.UnetBatches).Append(2 * plan.Settings.Batch);
        foreach (int m in batches.Distinct().Order())
        {
            double spent = 0;
            for (int k = forward.Keys.Where(x => x <= m).DefaultIfEmpty(2).Max(); k < m;)
            {
                int next = Math.Min(2 * k, m);
                spent += 2 * forward[k] * next / k;
                if (spent > BudgetSeconds) break;
                forward[next] = TimeForward(next);
                k = next;
            }
        }
        // The first batch timed also waited for the JIT's later tiers (they compile in the background over the first
        // calls); where a larger batch then came out faster, that time was not the settled one.
        if (forward.Any(kv => kv.Key > 2 && kv.Value < forward[2])) forward[2] = TimeForward(2);
        // Iterations at the run's batch B, or the largest below it whose two iterations of each kind fit the budget
        // (the estimate scales them by ProbeTimes.StepScale).
        var probe = new ProbeTimes { Backend = ops.Name, Forward = forward };
        int batch = plan.Settings.Batch;
        double perImage = probe.ForwardSeconds(2 * batch) / (2 * batch), passes = 2 * KindsPasses(plan, 1);
        int b = passes == 0 ? batch : (int)Math.Clamp(BudgetSeconds / (passes * perImage), 1, batch);
        double warmup = plan.WarmupSteps > 0 ? TimeStep(plan, b, warmup: true) : double.NaN;
        double step = plan.FullSteps > 0 ? TimeStep(plan, b, warmup: false) : double.NaN;
        return probe with { StepBatch = b, WarmupStepSeconds = warmup, StepSeconds = step };
    }

    /// <summary>
    /// Calls <paramref name="body"/> (which returns its seconds) at least twice, then again while it is still getting
    /// faster, up to <see cref="MaxCalls"/>, as long as one call fits the budget; the smaller of the last two.
    /// </summary>
    private double Settle(Func<double> body)
    {
        double previous = body(), last = body();
        for (int calls = 2; calls < MaxCalls && last < Settled * previous && last <= BudgetSeconds; calls++)
            (previous, last) = (last, body());
        return Math.Min(previous, last);
    }

    /// <summary>Seconds of one forward call at UNet batch <paramref name="batch"/> on random inputs, settled.</summary>
    private double TimeForward(int batch)
    {
        var cfg = unet.Config;
        using var inputs = ops.CreateArena();
        using var activations = ops.CreateArena();
        using var gradients = ops.CreateArena();
        var w = new Workspace(ops, activations, gradients);
        var x = inputs.Alloc(new Shape(batch, cfg.InChannels, cfg.SampleSize, cfg.SampleSize));
        var text = inputs.Alloc(new Shape(batch, textLength, textDim));
        ops.RandomNormal(x, 1, 0);
        ops.RandomNormal(text, 2, 0);
        var t = Enumerable.Repeat(500f, batch).ToArray();
        return Settle(() =>
        {
            w.Reset();
            ops.Synchronize();
            long t0 = Stopwatch.GetTimestamp();
            unet.Forward(w, x, t, text);
            ops.Synchronize();
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        });
    }

    /// <summary>
    /// Seconds of one iteration of one kind at batch <paramref name="b"/>, settled: a trainer of its own over random
    /// inputs, every iteration of that kind (Warmup = all or none). ESD's partial sampling and θ*'s pass are left out
    /// (its DDIM steps set to 1, so k = 0; the trainer's own anchor-pass time subtracted): the estimate adds them.
    /// </summary>
    private double TimeStep(CostPlan plan, int b, bool warmup)
    {
        var s = plan.Settings with
        {
            Batch = b,
            Steps = MaxCalls,
            Warmup = warmup ? MaxCalls : 0,
            CheckpointInterval = 0,
            EsdDdimSteps = 1,
        };
        var inputs = ErasureInputs.Random(images: 2 * b, unet.Config.InChannels, unet.Config.SampleSize, prompts: 2, textLength, textDim, s.Seed);
        var trainable = unet.Parameters.TrainableWeights;
        using var keep = ops.CreateArena();
        var saved = keep.Alloc(trainable.Shape);
        ops.Copy(saved, trainable);
        try
        {
            using var trainer = new ErasureTrainer(ops, unet, scheduler, inputs, s);
            return Settle(() =>
            {
                ops.Synchronize();
                long t0 = Stopwatch.GetTimestamp();
                var r = trainer.TrainStep();
                ops.Synchronize();
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                return s.Method == ErasureMethod.Esd ? seconds - r.AnchorSeconds : seconds;
            });
        }
        finally
        {
            ops.Copy(trainable, saved);
        }
    }
}
