namespace Engine.Unlearning.Cost;

/// <summary>
/// One sampling job of a run: <see cref="Calls"/> chunks of images, each denoised together for
/// <paramref name="Steps"/> DDIM steps, one UNet call per step over the chunk's images (twice as many rows with
/// classifier-free guidance: the [uncond; cond] batch). <paramref name="Cached"/>: the images are on disk, nothing is sampled.
/// </summary>
public sealed record SamplingWork(string Phase, int Steps, bool Guided, IReadOnlyList<int> Calls, bool Cached = false)
{
    /// <summary><paramref name="images"/> in calls of at most <paramref name="batch"/> (TextToImage.SampleMany), <paramref name="repeats"/> times over.</summary>
    public static SamplingWork Chunked(string phase, int images, int steps, bool guided, int batch, int repeats = 1) =>
        Chunked(phase, Enumerable.Repeat(images, repeats), steps, guided, batch);

    /// <summary>
    /// Sampling calls of the given image counts, each run at most <paramref name="batch"/> images at a time
    /// (TextToImage.Sample with MaxBatch): the chunks are the UNet calls.
    /// </summary>
    public static SamplingWork Chunked(string phase, IEnumerable<int> calls, int steps, bool guided, int batch)
    {
        ArgumentNullException.ThrowIfNull(calls);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        return new SamplingWork(phase, steps, guided,
            [.. calls.SelectMany(images => Enumerable.Range(0, (images + batch - 1) / batch).Select(k => Math.Min(batch, images - k * batch)))]);
    }

    public int Images => Calls.Sum();

    public int Passes => Guided ? 2 : 1;

    /// <summary>Image-passes through the UNet: images × steps × passes.</summary>
    public double ImagePasses => Cached ? 0 : (double)Images * Steps * Passes;

    /// <summary>The UNet batches of the calls, each once.</summary>
    public IEnumerable<int> UnetBatches => Calls.Distinct().Select(n => Passes * n);

    public string Work => Cached
        ? $"{Images} images, cached"
        : $"{Images} images × {Steps} DDIM steps{(Guided ? " × 2 (guidance)" : "")}, UNet batch ≤ {(Calls.Count == 0 ? 0 : Passes * Calls.Max())}";
}

/// <summary>
/// What an erase run will do, in counts: its sampling jobs (anchor images, the ruler's samples) and its training
/// iterations, <paramref name="StepsDone"/> of which a resumed run has already done.
/// </summary>
public sealed record CostPlan(ErasureSettings Settings, IReadOnlyList<SamplingWork> Sampling, int StepsDone = 0)
{
    /// <summary>DoCo's discriminator-only iterations still to run.</summary>
    public int WarmupSteps => Settings.Method == ErasureMethod.DoCo
        ? Math.Max(0, Math.Min(Settings.Warmup, Settings.Steps) - StepsDone)
        : 0;

    /// <summary>Iterations that train the UNet (every iteration of CA and ESD), still to run.</summary>
    public int FullSteps => Math.Max(0, Settings.Steps - StepsDone) - WarmupSteps;

    /// <summary>ESD's expected partial-sampling passes per iteration: k ~ U{0..N−1} guided DDIM steps, then θ*'s pass.</summary>
    public double EsdCallsPerStep => (Settings.EsdDdimSteps - 1) / 2.0 + 1;

    /// <summary>
    /// Image-passes of one iteration at batch <paramref name="b"/>, counting a backward as two forwards: the unit in
    /// which the probe's cost is weighed against the run's before anything is timed.
    /// </summary>
    public double StepPasses(bool warmup, int b) => Settings.Method switch
    {
        // θ₀ on B, the trainable pass on 2B; after warm-up two backward passes over the 2B.
        ErasureMethod.DoCo => warmup ? 3.0 * b : 3.0 * b + 2 * 2 * 2.0 * b,
        // θ's no-grad pass on B, the trainable pass and its backward on 2B (B without prior preservation).
        ErasureMethod.ConceptAblation => Settings.PriorPreservation ? b + 3 * 2.0 * b : b + 3.0 * b,
        // The partial sampling and θ* on 2B each call, the trainable pass and its backward on B.
        _ => EsdCallsPerStep * 2 * b + 3.0 * b,
    };

    /// <summary>Image-passes of the whole run (sampling and training).</summary>
    public double ImagePasses =>
        Sampling.Sum(s => s.ImagePasses) + WarmupSteps * StepPasses(true, Settings.Batch) + FullSteps * StepPasses(false, Settings.Batch);
}
