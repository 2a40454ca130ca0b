using Engine.Ops;

namespace Engine.Unlearning;

/// <summary>Which unlearning method the trainer runs.</summary>
public enum ErasureMethod
{
    /// <summary>DoCo: adversarial domain correction + concept-preserving gradient (doco-spec §2.2, §4).</summary>
    DoCo,
    /// <summary>Concept Ablation (doco-spec §5.1).</summary>
    ConceptAblation,
    /// <summary>ESD (doco-spec §5.2).</summary>
    Esd,
}

/// <summary>How DoCo combines the retain and unlearning gradients (doco-spec §4, §7.2).</summary>
public enum SurgeryMode
{
    /// <summary>No surgery: backward of L_adv + 0.1·prior·L_ret, global clip, AdamW (§2.2 step 8d).</summary>
    None,
    /// <summary>HEAD's normalized subtraction (not a projection).</summary>
    Official,
    /// <summary>Exact per-tensor PCGrad projection scaled by λ (the spec's default, §7.2).</summary>
    Projection,
}

/// <summary>Concept Ablation's target (doco-spec §5.1).</summary>
public enum AblationTarget
{
    /// <summary>sg[ε_θ(x_t, c_a, t)] from the current UNet under no-grad (CA's default).</summary>
    Model,
    /// <summary>The true noise ε.</summary>
    Noise,
}

/// <summary>
/// Every hyper-parameter of an erasure run. Defaults are doco-spec §2.1/§7 (official HEAD README, one GPU):
/// batch 8, lr 6e-6 × 8 = 4.8e-5, 2000 steps of which 1000 discriminator-only warm-up, dlr 1e-4 (objects; 5e-4 for
/// styles), λ 1, cross-attention K/V, AdamW (0.9, 0.999, wd 1e-2, eps 1e-8), clip 1.0, D Adam (0.5, 0.999).
/// The CPU sizes (steps, warm-up, batch, anchor images) are plain settings; <see cref="ForMethod"/> applies the
/// per-method defaults of §5 (CA: 100 steps, lr 2e-6 × batch; ESD: 1000 iterations, lr 1e-5, batch 1, Adam).
/// </summary>
public sealed record ErasureSettings
{
    public ErasureMethod Method { get; init; } = ErasureMethod.DoCo;

    /// <summary>The trainable UNet parameters (§1 "Trainable UNet subset", §5.2 for ESD).</summary>
    public TrainableSubset Subset { get; init; } = TrainableSubset.KeyValue;

    /// <summary>Total iterations, warm-up included.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>DoCo: discriminator-only iterations; the UNet trains once step &gt; Warmup (§2.2 step 8, §7.13).</summary>
    public int Warmup { get; init; } = 1000;

    /// <summary>B: the per-step batch (DoCo and CA with prior preservation run 2B through the UNet).</summary>
    public int Batch { get; init; } = 8;

    /// <summary>UNet learning rate (already scaled by the batch: 6e-6 × 8).</summary>
    public float LearningRate { get; init; } = 4.8e-5f;

    /// <summary>Discriminator learning rate (1e-4 objects and nudity, 5e-4 styles).</summary>
    public float DiscriminatorLearningRate { get; init; } = 1e-4f;

    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float WeightDecay { get; init; } = 1e-2f;
    public float AdamEps { get; init; } = 1e-8f;

    /// <summary>false = Adam (ESD's torch.optim.Adam, wd 0); true = AdamW (DoCo, CA).</summary>
    public bool DecoupledWeightDecay { get; init; } = true;

    public float DiscriminatorBeta1 { get; init; } = 0.5f;
    public float DiscriminatorBeta2 { get; init; } = 0.999f;

    /// <summary>Global-norm clip (max_grad_norm); 0 disables it.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    public SurgeryMode Surgery { get; init; } = SurgeryMode.Projection;

    /// <summary>
    /// DoCo's unlearning loss: the adversarial domain correction (the method), or — the paper's "without domain
    /// correction" ablation — Concept Ablation's regression of ε̂_u onto the frozen anchor prediction ε̂_a.
    /// </summary>
    public bool DomainCorrection { get; init; } = true;

    /// <summary>
    /// DoCo: the instance half's timesteps (those the adversarial loss sees) are drawn uniformly from
    /// [AdversarialTMin, AdversarialTMax); 0 for the maximum means the schedule's T. The class half (L_ret) keeps
    /// the whole range. The official code draws every t from [0, T) (doco-spec §2.2 step 3, §7.6).
    /// </summary>
    public int AdversarialTMin { get; init; }

    public int AdversarialTMax { get; init; }

    /// <summary>
    /// DoCo: pass dL_adv/dx̂0 to ε̂ with weight 1 instead of the chain rule's √(1−ᾱ_t)/√ᾱ_t. The official gradient lets
    /// the highest timesteps dominate the (globally clipped) update: that factor is ≈15 at t = 999 on SD's schedule
    /// and ≈150 on the built-in world's linear one. Spec §7.6 allows down-weighting large t as an ablation.
    /// </summary>
    public bool FlatAdversarialWeight { get; init; }

    /// <summary>Horizontal-flip augmentation of the anchor images (each sample, each step, with probability ½): the
    /// official README passes --hflip in every DoCo command (doco-spec §2.1), so DoCo flips by default; CA and ESD do not.</summary>
    public bool HFlip { get; init; } = true;

    /// <summary>The PatchGAN's stride-2 BatchNorm blocks after the first conv (3 in the official one, §3) and its first
    /// width (64). Each block halves the image; a 64×64 latent ends in 3×3 patch logits with 3 blocks.</summary>
    public int DiscriminatorLayers { get; init; } = 3;

    public int DiscriminatorWidth { get; init; } = 64;

    /// <summary>BatchNorm in the discriminator's blocks (official: yes, train mode, real and fake in separate calls).</summary>
    public bool DiscriminatorBatchNorm { get; init; } = true;

    /// <summary>λ of the surgery.</summary>
    public float Lambda { get; init; } = 1f;

    /// <summary>§7.3 ablation: update with g_u' + RetainWeight·g_r (clipped) instead of g_u' alone.</summary>
    public bool ApplyRetainGrad { get; init; }

    public float RetainWeight { get; init; } = 1f;

    /// <summary>prior_loss_weight: CA's prior term and DoCo's no-surgery 0.1·prior·L_ret.</summary>
    public float PriorLossWeight { get; init; } = 1f;

    /// <summary>§2.2 step 9 / §7.5: let the generator's L_adv backward deposit into D's gradients (official behaviour).</summary>
    public bool ReproduceOfficialDLeak { get; init; }

    /// <summary>Custom Diffusion's BOS-token K/V detach in cross-attention (§7.15).</summary>
    public bool DetachBos { get; init; } = true;

    public AblationTarget AblationTarget { get; init; } = AblationTarget.Model;

    /// <summary>CA: add prior·MSE on anchor images with anchor prompts (second half of the batch).</summary>
    public bool PriorPreservation { get; init; } = true;

    /// <summary>ESD's negative guidance η (the original ICCV script: 1).</summary>
    public float EsdEta { get; init; } = 1f;

    /// <summary>ESD: DDIM steps of the partial sampling that makes x_t (50 in the original script).</summary>
    public int EsdDdimSteps { get; init; } = 50;

    /// <summary>ESD: guidance of the partial sampling ("start_guidance" 3).</summary>
    public float EsdStartGuidance { get; init; } = 3f;

    /// <summary>Anchor images: count, DDIM steps, guidance (§1: 1000, 25, 6).</summary>
    public int AnchorCount { get; init; } = 1000;
    public int AnchorSteps { get; init; } = 25;
    public float AnchorGuidance { get; init; } = 6f;

    /// <summary>Anchor images per UNet call while sampling them (2× that with guidance): it bounds the sampling's
    /// memory and leaves the images as they are (<see cref="Data.AnchorSettings"/>).</summary>
    public int AnchorBatch { get; init; } = 4;

    public ulong Seed { get; init; } = 42;

    /// <summary>Checkpoint every N steps (official: max_train_steps/10); 0 = only at the end.</summary>
    public int CheckpointInterval { get; init; } = 200;

    /// <summary>The defaults of a method: CA and ESD differ from DoCo (doco-spec §5.1, §5.2).</summary>
    public static ErasureSettings ForMethod(ErasureMethod method) => method switch
    {
        ErasureMethod.ConceptAblation => new ErasureSettings
        {
            Method = method,
            Steps = 100,
            Warmup = 0,
            Batch = 4,
            LearningRate = 2e-6f * 4 * 2,
            HFlip = false,
            CheckpointInterval = 10,
        },
        ErasureMethod.Esd => new ErasureSettings
        {
            Method = method,
            Subset = TrainableSubset.EsdX,
            Steps = 1000,
            Warmup = 0,
            Batch = 1,
            LearningRate = 1e-5f,
            WeightDecay = 0f,
            DecoupledWeightDecay = false,
            MaxGradNorm = 0f,
            DetachBos = false,
            HFlip = false,
            CheckpointInterval = 100,
        },
        _ => new ErasureSettings(),
    };

    /// <summary>Throws ArgumentException naming the first bad setting.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentException($"steps must be ≥ 1 (got {Steps})", nameof(Steps));
        if (Warmup < 0) throw new ArgumentException($"warmup must be ≥ 0 (got {Warmup})", nameof(Warmup));
        if (Batch < 1) throw new ArgumentException($"batch must be ≥ 1 (got {Batch})", nameof(Batch));
        if (!(LearningRate > 0) || float.IsInfinity(LearningRate)) throw new ArgumentException($"lr must be > 0 (got {LearningRate})", nameof(LearningRate));
        if (!(DiscriminatorLearningRate > 0) || float.IsInfinity(DiscriminatorLearningRate)) throw new ArgumentException($"dlr must be > 0 (got {DiscriminatorLearningRate})", nameof(DiscriminatorLearningRate));
        if (AnchorCount < 1) throw new ArgumentException($"anchors must be ≥ 1 (got {AnchorCount})", nameof(AnchorCount));
        if (AnchorSteps < 1) throw new ArgumentException($"anchor steps must be ≥ 1 (got {AnchorSteps})", nameof(AnchorSteps));
        if (AnchorBatch < 1) throw new ArgumentException($"anchor batch must be ≥ 1 (got {AnchorBatch})", nameof(AnchorBatch));
        if (EsdDdimSteps < 1) throw new ArgumentException($"ESD DDIM steps must be ≥ 1 (got {EsdDdimSteps})", nameof(EsdDdimSteps));
        if (CheckpointInterval < 0) throw new ArgumentException($"checkpoint interval must be ≥ 0 (got {CheckpointInterval})", nameof(CheckpointInterval));
        if (AdversarialTMin < 0 || AdversarialTMax < 0 || (AdversarialTMax > 0 && AdversarialTMax <= AdversarialTMin))
            throw new ArgumentException($"the adversarial timestep range [{AdversarialTMin}, {AdversarialTMax}) is empty or negative", nameof(AdversarialTMin));
        if (DiscriminatorLayers < 0 || DiscriminatorLayers > 6) throw new ArgumentException($"discriminator layers must be 0..6 (got {DiscriminatorLayers})", nameof(DiscriminatorLayers));
        if (DiscriminatorWidth < 1) throw new ArgumentException($"discriminator width must be ≥ 1 (got {DiscriminatorWidth})", nameof(DiscriminatorWidth));
        if (Lambda < 0) throw new ArgumentException($"lambda must be ≥ 0 (got {Lambda})", nameof(Lambda));
    }

    /// <summary>The surgery op's settings for this run.</summary>
    public SurgerySpec SurgerySpec => new(Lambda, MaxGradNorm, Surgery == SurgeryMode.Official ? SurgeryRule.Official : SurgeryRule.Projection);
}
