using System.CommandLine;
using System.Globalization;
using Engine.Diffusion.Pipelines;
using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Models.Text;
using Engine.Unlearning;
using Engine.Unlearning.Data;
using Engine.Unlearning.Outputs;
using Engine.Unlearning.Telemetry;
using Engine.World;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco erase [--model &lt;dir&gt;] --concept &lt;text&gt; --anchor &lt;text&gt; [--method doco|ca|esd] ...</c>: erases a concept
/// from a diffusers model with DoCo, Concept Ablation or ESD (docs/unlearning.md). Writes --out/checkpoint.safetensors
/// (every --checkpoint-every steps, at the end and on Ctrl-C) and the trained model as a diffusers folder in --out/model.
/// </summary>
internal static class EraseCommand
{
    /// <summary>The command line, parsed; null means "not given" (the method's default applies).</summary>
    public sealed record Options
    {
        public string? Model { get; init; }
        public string? Concept { get; init; }
        public string? Anchor { get; init; }
        public string Type { get; init; } = "object";
        public string Method { get; init; } = "doco";
        public string? Surgery { get; init; }
        public int? Steps { get; init; }
        public int? Warmup { get; init; }
        public int? Batch { get; init; }
        public float? Lr { get; init; }
        public float? Dlr { get; init; }
        public int? Anchors { get; init; }
        public int? AnchorSteps { get; init; }
        public int? AnchorBatch { get; init; }
        public string? Train { get; init; }
        public string Out { get; init; } = "erased";
        public string? Cache { get; init; }
        public bool Resume { get; init; }
        public ulong Seed { get; init; } = 42;
        public string Backend { get; init; } = "auto";
        public int? CheckpointEvery { get; init; }
        public int? EsdDdimSteps { get; init; }
        public bool Leak { get; init; }
        public bool ApplyRetainGrad { get; init; }
        /// <summary>Run the built-in world's ruler before and after (default: on for the built-in model).</summary>
        public bool? Eval { get; init; }
        /// <summary>A shortened run (few steps, few anchors, the quick ruler): what CI runs.</summary>
        public bool Quick { get; init; }
        public bool SingleFile { get; init; }

        /// <summary>Also export the erasure as rank-R LoRA files into --out/lora (<see cref="LoraCommand"/>).</summary>
        public int? Lora { get; init; }
        /// <summary>DoCo ablation: Concept Ablation's regression in place of the adversarial loss.</summary>
        public bool NoDomainCorrection { get; init; }
        /// <summary>DoCo: train the discriminator only (warm-up = steps), to see whether and when it separates the two.</summary>
        public bool DiscriminatorOnly { get; init; }
        public int? AdvTMin { get; init; }
        public int? AdvTMax { get; init; }
        public bool? HFlip { get; init; }
        public int? DiscLayers { get; init; }
        public int? DiscWidth { get; init; }
        public string? DiscNorm { get; init; }
        public string? AdvWeight { get; init; }
        /// <summary>The ruler's seed (its prompt fills and sample seeds): tune on one, report on the default 0.</summary>
        public int RulerSeed { get; init; }
        /// <summary>Print the cost estimate and stop: no anchor images, no training, nothing written.</summary>
        public bool DryRun { get; init; }
    }

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a diffusers model folder (default: models/world above the current folder)" };
        var concept = new Option<string>("--concept") { Description = "the concept to erase, c*" };
        var anchor = new Option<string>("--anchor") { Description = "the anchor concept c_a it is mapped to" };
        var type = new Option<string>("--type") { Description = "object or style", DefaultValueFactory = _ => "object" };
        var method = new Option<string>("--method") { Description = "doco, ca or esd", DefaultValueFactory = _ => "doco" };
        var surgery = new Option<string>("--surgery") { Description = "DoCo gradient surgery: projection (default), official or none" };
        var steps = new Option<int?>("--steps") { Description = "training iterations, warm-up included" };
        var warmup = new Option<int?>("--warmup") { Description = "DoCo discriminator-only iterations" };
        var batch = new Option<int?>("--batch") { Description = "batch size B" };
        var lr = new Option<float?>("--lr") { Description = "UNet learning rate" };
        var dlr = new Option<float?>("--dlr") { Description = "discriminator learning rate" };
        var anchors = new Option<int?>("--anchors") { Description = "number of anchor images to sample" };
        var anchorSteps = new Option<int?>("--anchor-steps") { Description = "DDIM steps per anchor image" };
        var anchorBatch = new Option<int?>("--anchor-batch") { Description = "anchor images per UNet call while sampling them (UNet batch 2N with guidance; default 4); lower it when anchor sampling runs out of memory" };
        var train = new Option<string>("--train") { Description = "trainable UNet parameters: kv, attention, full, esd-x or esd-u" };
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "erased" };
        var cache = new Option<string>("--cache") { Description = "anchor image cache folder (default: --out/cache)" };
        var resume = new Option<bool>("--resume") { Description = "continue from --out/checkpoint.safetensors" };
        var seed = new Option<ulong>("--seed") { Description = "seed of every random draw", DefaultValueFactory = _ => 42UL };
        var backend = new Option<string>("--backend") { Description = "auto (CUDA when a usable GPU is present, else the CPU), cpu or cuda", DefaultValueFactory = _ => "auto" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "checkpoint interval in steps (0: only at the end)" };
        var esdDdimSteps = new Option<int?>("--esd-ddim-steps") { Description = "ESD: DDIM steps of the partial sampling" };
        var leak = new Option<bool>("--official-d-leak") { Description = "DoCo: reproduce the official code's discriminator-gradient leak" };
        var applyRetainGrad = new Option<bool>("--apply-retain-grad") { Description = "DoCo: add the clipped retain gradient to the update (ablation)" };
        var eval = new Option<bool?>("--eval") { Description = "measure the erasure with the built-in world's ruler before and after (default: on for the built-in model)" };
        var quick = new Option<bool>("--quick") { Description = "a shortened run: 6 steps, 8 anchor images, the quick ruler (for CI)" };
        var singleFile = new Option<bool>("--single-file") { Description = "also write the erased model as one single-file checkpoint" };
        var lora = new Option<int?>("--lora") { Description = "also write the erasure as rank-R LoRA files into --out/lora (as doco lora does)" };
        var noDomainCorrection = new Option<bool>("--no-domain-correction") { Description = "DoCo ablation: Concept Ablation's regression onto the frozen anchor prediction instead of the discriminator" };
        var discriminatorOnly = new Option<bool>("--discriminator-only") { Description = "DoCo: train only the discriminator (warm-up = steps) and log when it tells real from fake" };
        var advTMin = new Option<int?>("--adv-tmin") { Description = "DoCo: lowest timestep fed to the adversarial loss (default 0)" };
        var advTMax = new Option<int?>("--adv-tmax") { Description = "DoCo: timesteps fed to the adversarial loss stay below this (default: the schedule's T)" };
        var hflip = new Option<bool?>("--hflip") { Description = "mirror anchor images left-right at random (default: on for DoCo, as in the official README; --hflip false turns it off)" };
        var discLayers = new Option<int?>("--disc-layers") { Description = "DoCo: the PatchGAN's stride-2 BatchNorm blocks (official: 3)" };
        var discWidth = new Option<int?>("--disc-width") { Description = "DoCo: the PatchGAN's first width (official: 64)" };
        var rulerSeed = new Option<int>("--ruler-seed") { Description = "the ruler's seed: its prompt fills and sample seeds (default 0; tune settings on another)", DefaultValueFactory = _ => 0 };
        var discNorm = new Option<string>("--disc-norm") { Description = "DoCo: the PatchGAN's normalization, batch (official) or none" };
        var dryRun = new Option<bool>("--dry-run") { Description = "print what the run would do and about how long it would take on this backend (from a short timed probe), then exit without writing anything" };
        var advWeight = new Option<string>("--adv-weight") { Description = "DoCo: how each timestep's dL_adv/dx0 reaches eps: official (times sqrt(1-abar)/sqrt(abar), up to ~150x at high t on the built-in world) or flat (times 1)" };
        Options Bind(ParseResult p) => new()
        {
            Model = p.GetValue(model),
            Concept = p.GetValue(concept),
            Anchor = p.GetValue(anchor),
            Type = p.GetValue(type)!,
            Method = p.GetValue(method)!,
            Surgery = p.GetValue(surgery),
            Steps = p.GetValue(steps),
            Warmup = p.GetValue(warmup),
            Batch = p.GetValue(batch),
            Lr = p.GetValue(lr),
            Dlr = p.GetValue(dlr),
            Anchors = p.GetValue(anchors),
            AnchorSteps = p.GetValue(anchorSteps),
            AnchorBatch = p.GetValue(anchorBatch),
            Train = p.GetValue(train),
            Out = p.GetValue(output)!,
            Cache = p.GetValue(cache),
            Resume = p.GetValue(resume),
            Seed = p.GetValue(seed),
            Backend = p.GetValue(backend)!,
            CheckpointEvery = p.GetValue(checkpointEvery),
            EsdDdimSteps = p.GetValue(esdDdimSteps),
            Leak = p.GetValue(leak),
            ApplyRetainGrad = p.GetValue(applyRetainGrad),
            Eval = p.GetValue(eval),
            Quick = p.GetValue(quick),
            SingleFile = p.GetValue(singleFile),
            Lora = p.GetValue(lora),
            NoDomainCorrection = p.GetValue(noDomainCorrection),
            DiscriminatorOnly = p.GetValue(discriminatorOnly),
            AdvTMin = p.GetValue(advTMin),
            AdvTMax = p.GetValue(advTMax),
            HFlip = p.GetValue(hflip),
            DiscLayers = p.GetValue(discLayers),
            DiscWidth = p.GetValue(discWidth),
            RulerSeed = p.GetValue(rulerSeed),
            DiscNorm = p.GetValue(discNorm),
            AdvWeight = p.GetValue(advWeight),
            DryRun = p.GetValue(dryRun),
        };
        return new BoundCommand<Options>("erase", "Erase a concept from a model (DoCo, Concept Ablation or ESD).", Bind, Run)
        {
            model, concept, anchor, type, method, surgery, steps, warmup, batch, lr, dlr, anchors, anchorSteps, anchorBatch, train,
            output, cache, resume, seed, backend, checkpointEvery, esdDdimSteps, leak, applyRetainGrad, eval, quick,
            singleFile, lora, noDomainCorrection, discriminatorOnly, advTMin, advTMax, hflip, discLayers, discWidth,
            rulerSeed, discNorm, advWeight, dryRun
        };
    }

    /// <summary>
    /// Exit codes: 0 done, 2 bad arguments (nothing written), 130 interrupted (<paramref name="cancel"/>, the first Ctrl-C in
    /// <c>doco</c>: the checkpoint is saved).
    /// </summary>
    public static int Run(Options o, TextWriter output, TextWriter error, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var commandClock = System.Diagnostics.Stopwatch.StartNew(); // the report's "whole command"
        int Fail(string message)
        {
            error.WriteLine($"erase: {message}");
            return 2;
        }

        // ---- arguments: everything is checked before anything is written ----
        ErasureMethod method;
        switch (o.Method)
        {
            case "doco": method = ErasureMethod.DoCo; break;
            case "ca": method = ErasureMethod.ConceptAblation; break;
            case "esd": method = ErasureMethod.Esd; break;
            default: return Fail($"--method '{o.Method}' is not one of doco, ca, esd");
        }
        ConceptType type;
        switch (o.Type)
        {
            case "object": type = ConceptType.Object; break;
            case "style": type = ConceptType.Style; break;
            default: return Fail($"--type '{o.Type}' is not one of object, style");
        }
        var settings = ErasureSettings.ForMethod(method) with
        {
            Seed = o.Seed,
            ReproduceOfficialDLeak = o.Leak,
            ApplyRetainGrad = o.ApplyRetainGrad,
            DomainCorrection = !o.NoDomainCorrection,
        };
        bool world = o.Model is null;
        if (world) settings = WorldErasureDefaults.Apply(settings, o.Quick);
        if (o.Surgery is not null)
        {
            SurgeryMode mode;
            switch (o.Surgery)
            {
                case "projection": mode = SurgeryMode.Projection; break;
                case "official": mode = SurgeryMode.Official; break;
                case "none": mode = SurgeryMode.None; break;
                default: return Fail($"--surgery '{o.Surgery}' is not one of projection, official, none");
            }
            settings = settings with { Surgery = mode };
        }
        if (o.Train is not null)
        {
            try { settings = settings with { Subset = TrainableSubsets.Parse(o.Train) }; }
            catch (ArgumentException e) { return Fail(e.Message); }
        }
        if (o.Steps is { } st) { if (st < 1) return Fail($"--steps must be ≥ 1 (got {st})"); settings = settings with { Steps = st }; }
        if (o.Warmup is { } wu) { if (wu < 0) return Fail($"--warmup must be ≥ 0 (got {wu})"); settings = settings with { Warmup = wu }; }
        else if (method == ErasureMethod.DoCo && o.Steps is { } s2) settings = settings with { Warmup = world ? s2 / 3 : s2 / 2 }; // the official 1000 of 2000
        if (o.Batch is { } b) { if (b < 1) return Fail($"--batch must be ≥ 1 (got {b})"); settings = settings with { Batch = b }; }
        if (o.Lr is { } lr) { if (!(lr > 0) || float.IsInfinity(lr)) return Fail($"--lr must be a positive number (got {lr})"); settings = settings with { LearningRate = lr }; }
        if (o.Dlr is { } dlr) { if (!(dlr > 0) || float.IsInfinity(dlr)) return Fail($"--dlr must be a positive number (got {dlr})"); settings = settings with { DiscriminatorLearningRate = dlr }; }
        else if (type == ConceptType.Style && !world) settings = settings with { DiscriminatorLearningRate = 5e-4f }; // §2.1: style dlr (the world's defaults set their own)
        if (o.Anchors is { } an) { if (an < 1) return Fail($"--anchors must be ≥ 1 (got {an})"); settings = settings with { AnchorCount = an }; }
        if (o.AnchorSteps is { } ast) { if (ast < 1) return Fail($"--anchor-steps must be ≥ 1 (got {ast})"); settings = settings with { AnchorSteps = ast }; }
        if (o.AnchorBatch is { } ab) { if (ab < 1) return Fail($"--anchor-batch must be ≥ 1 (got {ab})"); settings = settings with { AnchorBatch = ab }; }
        if (o.CheckpointEvery is { } ce) { if (ce < 0) return Fail($"--checkpoint-every must be ≥ 0 (got {ce})"); settings = settings with { CheckpointInterval = ce }; }
        else settings = settings with { CheckpointInterval = Math.Max(1, settings.Steps / 10) }; // official: max_train_steps/10
        if (o.AdvTMin is { } tmin) settings = settings with { AdversarialTMin = tmin };
        if (o.AdvTMax is { } tmax) settings = settings with { AdversarialTMax = tmax };
        if (o.HFlip is { } flip) settings = settings with { HFlip = flip };
        if (o.DiscLayers is { } dl) settings = settings with { DiscriminatorLayers = dl };
        if (o.DiscWidth is { } dw) settings = settings with { DiscriminatorWidth = dw };
        if (o.AdvWeight is not null)
        {
            if (o.AdvWeight is not ("official" or "flat")) return Fail($"--adv-weight '{o.AdvWeight}' is not one of official, flat");
            settings = settings with { FlatAdversarialWeight = o.AdvWeight == "flat" };
        }
        if (o.DiscNorm is not null)
        {
            if (o.DiscNorm is not ("batch" or "none")) return Fail($"--disc-norm '{o.DiscNorm}' is not one of batch, none");
            settings = settings with { DiscriminatorBatchNorm = o.DiscNorm == "batch" };
        }
        if (o.DiscriminatorOnly)
        {
            if (method != ErasureMethod.DoCo || o.NoDomainCorrection) return Fail("--discriminator-only needs --method doco with domain correction");
            settings = settings with { Warmup = settings.Steps };
        }
        try { settings.Validate(); }
        catch (ArgumentException e) { return Fail(e.Message); }
        if (o.Lora is < 1) return Fail($"--lora must be ≥ 1 (got {o.Lora})");
        if (o.EsdDdimSteps is { } es) { if (es < 1) return Fail($"--esd-ddim-steps must be ≥ 1 (got {es})"); settings = settings with { EsdDdimSteps = es }; }

        string? modelDir = o.Model;
        string? concept = o.Concept, anchorWord = o.Anchor;
        if (modelDir is null)
        {
            modelDir = ModelSearch.FindUp(Path.Combine("models", "world"));
            if (modelDir is null)
                return Fail($"--model not given and no models/world model (a folder with model_index.json) in {Directory.GetCurrentDirectory()} or above it (the built-in world model is not there yet; pass --model <diffusers folder>)");
            concept ??= "star";
            anchorWord ??= "circle";
        }
        if (string.IsNullOrWhiteSpace(concept)) return Fail("--concept is required and must not be empty");
        if (string.IsNullOrWhiteSpace(anchorWord)) return Fail("--anchor is required and must not be empty");
        if (string.Equals(concept.Trim(), anchorWord.Trim(), StringComparison.OrdinalIgnoreCase))
            return Fail($"--anchor '{anchorWord}' equals --concept '{concept}': nothing to erase");
        if (!Directory.Exists(modelDir)) return Fail($"--model folder not found: {modelDir}");
        foreach (var part in new[] { "unet", "text_encoder", "tokenizer", "scheduler" })
            if (!Directory.Exists(Path.Combine(modelDir, part))) return Fail($"--model {modelDir} is not a diffusers folder (no {part}/)");
        ConceptPrompts prompts;
        try
        {
            // The built-in world trains on its own caption templates (the ruler's in-set prompts); any other model on
            // the Stable Diffusion captions of docs/unlearning.md.
            prompts = world
                ? new ConceptPrompts(ConceptType.Object, anchorWord, concept, WorldErasurePrompts.Anchor(anchorWord, concept, unchecked((int)settings.Seed)))
                : ConceptPrompts.BuiltIn(type, anchorWord, concept);
        }
        catch (ArgumentException e) { return Fail(e.Message); }
        if (method == ErasureMethod.DoCo && settings.Warmup >= settings.Steps && !o.DiscriminatorOnly)
            error.WriteLine($"erase: note: --warmup {settings.Warmup} ≥ --steps {settings.Steps}, so only the discriminator trains");
        string checkpoint = Path.Combine(o.Out, "checkpoint.safetensors");
        if (o.Resume && !File.Exists(checkpoint)) return Fail($"--resume: no checkpoint at {checkpoint}");
        if (!o.Resume && File.Exists(checkpoint)) return Fail($"--out {o.Out} already holds a checkpoint; pass --resume to continue it or choose another --out");
        var ops = Backends.Select(o.Backend, error);
        if (ops is null) return 2;

        // ---- load ----
        using var weights = ops.CreateArena();
        Engine.Models.Clip.ClipTextModel textEncoder;
        Engine.Models.Unet.UNet2DConditionModel unet;
        ClipTokenizer tokenizer;
        SchedulerConfig scheduler;
        try
        {
            tokenizer = ClipTokenizer.FromDirectory(Path.Combine(modelDir, "tokenizer"));
            textEncoder = ModelFiles.LoadTextEncoder(Path.Combine(modelDir, "text_encoder"), weights);
            unet = ModelFiles.LoadUNet(Path.Combine(modelDir, "unet"), weights, TrainableSubsets.Predicate(settings.Subset));
            scheduler = SchedulerConfig.FromJson(Path.Combine(modelDir, "scheduler", "scheduler_config.json"));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return Fail($"cannot load --model {modelDir}: {e.Message}");
        }
        var targetPrompts = prompts.TargetPrompts(unchecked((int)settings.Seed));
        var broken = PromptPairCheck.Find(tokenizer, textEncoder.Config.MaxPositionEmbeddings, prompts.AnchorPrompts, targetPrompts, anchorWord.Trim(), concept.Trim());
        foreach (var pair in broken)
            error.WriteLine($"erase: warning: prompt pair {pair.Index + 1} ('{pair.AnchorPrompt}' → '{pair.TargetPrompt}'): {pair.Reason}");
        if (PromptPairCheck.TooMany(broken.Count, prompts.AnchorPrompts.Count))
            return Fail($"{broken.Count} of {prompts.AnchorPrompts.Count} anchor/target prompt pairs cannot be told apart by the text encoder (more than {PromptPairCheck.MaxBrokenShare:P0}); use shorter prompts or other concept words");
        if (settings.AdversarialTMin >= scheduler.NumTrainTimesteps)
            return Fail($"--adv-tmin {settings.AdversarialTMin} is past the model's {scheduler.NumTrainTimesteps} training timesteps");
        if (unet.Parameters.Layout.TrainableCount == 0) return Fail($"--train {TrainableSubsets.Name(settings.Subset)} selects no parameter of this UNet");
        var layout = unet.Parameters.Layout;
        output.WriteLine($"erase: {o.Method} '{concept}' → '{anchorWord}' ({o.Type}) on {modelDir}; {TrainableSubsets.Name(settings.Subset)}: " +
            $"{layout.TrainableSegments.Count} tensors, {layout.TrainableCount.ToString("N0", CultureInfo.InvariantCulture)} of {layout.TotalCount.ToString("N0", CultureInfo.InvariantCulture)} parameters; {ops.Name}");

        var cacheDir = o.Cache ?? Path.Combine(o.Out, "cache");
        var anchorSettings = new AnchorSettings(settings.AnchorCount, settings.AnchorSteps, settings.AnchorGuidance, 0f, settings.Seed, Batch: settings.AnchorBatch);
        bool evaluate = o.Eval ?? (world && !o.DiscriminatorOnly);

        // ---- the cost estimate (docs/unlearning.md): a short timed probe; --dry-run stops after it, having written nothing ----
        if (o.DryRun || !world)
        {
            var estimate = new EraseEstimate.Inputs(ops, unet, scheduler, textEncoder.Config.MaxPositionEmbeddings, textEncoder.Config.HiddenSize, settings,
                modelDir, prompts.AnchorPrompts, anchorSettings, cacheDir, o.Resume ? checkpoint : null,
                evaluate ? (concept.Trim(), anchorWord.Trim(), o.Quick, o.RulerSeed) : null);
            int code = EraseEstimate.Run(estimate, o.DryRun, output, error);
            if (code != 0) return code;
            if (o.DryRun)
            {
                output.WriteLine($"erase: dry run: no anchor images sampled, nothing trained, nothing written to {o.Out}");
                return 0;
            }
        }

        // ---- anchor images (the model's own samples, cached) and text states ----
        AnchorImages images;
        using (var pipe = new TextToImage(modelDir, ops))
        {
            var bar = new ProgressBar("anchor images", error);
            images = new AnchorImageCache(cacheDir) { Log = error }.GetOrCreate(pipe, modelDir, prompts.AnchorPrompts, anchorSettings, (i, n) => bar.Report(i, n));
            if (images.FromCache) output.WriteLine($"erase: {images.Count} anchor images from {images.CachePath}");
        }
        var inputs = ErasureInputs.Encode(ops, tokenizer, textEncoder, prompts.AnchorPrompts, targetPrompts, concept.Trim(), images);

        // ---- train ----
        using var trainer = new ErasureTrainer(ops, unet, scheduler, inputs, settings);
        if (o.Resume)
        {
            try { trainer.LoadCheckpoint(checkpoint); }
            catch (Exception e) when (e is InvalidDataException or Engine.IO.Safetensors.SafetensorsException or IOException)
            {
                return Fail($"--resume: {e.Message}");
            }
            output.WriteLine($"erase: resuming at step {trainer.Step} of {settings.Steps}");
        }
        var progress = new ProgressBar(o.Method, error, trainer.Step);
        StepRecord? last = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tensorNames = layout.Parameters.Where(p => p.Trainable).Select(p => p.Name).ToList();
        // Steps without surgery (warm-up, CA, ESD) log NaN cosines.
        bool finished;
        using (var log = TrainingLog.Open(Path.Combine(o.Out, TrainingLog.FileName), tensorNames, trainer.Step))
        {
            finished = trainer.Run(r =>
            {
                last = r;
                log.Append(r);
                progress.Report(r.Step + 1, settings.Steps, Describe(r, method));
            }, checkpoint, cancel);
            if (finished) Engine.Reports.Plots.TrainingPlots.Write(log.Path, o.Out);
        }
        if (!finished)
        {
            output.WriteLine($"erase: interrupted after step {trainer.Step}; checkpoint saved to {checkpoint} (rerun with --resume)");
            return 130;
        }
        var run = new ErasureRun
        {
            Method = o.Method,
            Concept = concept.Trim(),
            Anchor = anchorWord.Trim(),
            ConceptType = o.Type,
            Hyperparameters = Hyperparameters(settings),
            Seed = (long)settings.Seed,
            Steps = trainer.Step,
            SkippedSteps = trainer.SkippedSteps,
            WallSeconds = clock.Elapsed.TotalSeconds,
            PeakMemoryBytes = BenchCommand.PeakRssBytes(),
        };
        var written = ErasedModelWriter.Write(o.Out, modelDir, unet, tensorNames, run, new ErasedModelOptions { SingleFile = o.SingleFile });
        output.WriteLine($"erase: {trainer.Step} steps ({trainer.GeneratorSteps} UNet updates, {trainer.SkippedSteps} skipped for NaN/Inf) in {clock.Elapsed.TotalSeconds:F0} s; " +
            $"wrote {written.ModelFolder}, {written.DeltaPath}, {written.ManifestPath}, train.csv and plots{(last is null ? "" : "; last: " + Describe(last, method))}");
        if (o.Lora is { } rank)
        {
            // The same export as doco lora on the finished folder: the model is already complete if this fails.
            int code = LoraCommand.Run(new LoraCommand.Options(o.Out, rank, null), output, error);
            if (code != 0) return code;
        }
        if (evaluate)
        {
            int code = WorldEvaluation.Run(modelDir, written.ModelFolder, o.Out, cacheDir, concept.Trim(), anchorWord.Trim(), o.Quick, o.RulerSeed, ops, output, error);
            if (code != 0) return code;
        }
        // Last, so that the page sees every file the run wrote.
        output.WriteLine($"erase: wrote {Engine.Reports.Pages.RunReport.Write(o.Out, new(commandClock.Elapsed.TotalSeconds, BenchCommand.PeakRssBytes(), ops.Name, (ops as IDeviceMemoryMeter)?.DevicePeakBytes))}");
        return 0;
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "ErasureSettings' assembly, Engine.Models, is kept whole by the trimmer (Engine.Cli.csproj)")]
    private static System.Text.Json.Nodes.JsonObject Hyperparameters(ErasureSettings s) =>
        System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(s, HyperparameterJson))!.AsObject();

    private static readonly System.Text.Json.JsonSerializerOptions HyperparameterJson = new()
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The losses of one step for the progress line.</summary>
    private static string Describe(StepRecord r, ErasureMethod method)
    {
        var c = CultureInfo.InvariantCulture;
        string text = method switch
        {
            ErasureMethod.DoCo => r.Warmup
                ? string.Create(c, $"warm-up L_D {r.LossD:F3} acc {r.DAccReal:F2}/{r.DAccFake:F2}")
                : string.Create(c, $"L_adv {r.LossAdv:F3} L_ret {r.LossRet:F4} L_D {r.LossD:F3} fired {r.FiredFraction:P0}"),
            ErasureMethod.ConceptAblation => string.Create(c, $"L {r.LossAdv:F4} prior {r.LossRet:F4}"),
            _ => string.Create(c, $"L_esd {r.LossAdv:F4}"),
        };
        return r.Skipped ? text + " (skipped: NaN/Inf)" : text;
    }
}
