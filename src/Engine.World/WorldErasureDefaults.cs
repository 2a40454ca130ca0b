using Engine.Unlearning;

namespace Engine.World;

/// <summary>
/// The settings `doco erase` uses on the built-in world's model (docs/world.md): the spec's method, scaled to a
/// 1.7M-parameter pixel-space model and a 5-minute CPU budget: fewer steps and anchor images, a larger learning rate.
/// Explicit options still override them. Each value that departs from a plain scaling of the paper's recipe says why.
/// </summary>
public static class WorldErasureDefaults
{
    /// <summary>DoCo's steps and learning rate here against the official recipe's (2000 steps, lr 4.8e-5): the one
    /// common factor by which <see cref="PaperRecipe"/> scales every method's own recipe to this world.</summary>
    public static double StepScale => (double)Apply(new ErasureSettings(), quick: false).Steps / new ErasureSettings().Steps;

    public static double LearningRateScale => Apply(new ErasureSettings(), quick: false).LearningRate / new ErasureSettings().LearningRate;

    public static ErasureSettings Apply(ErasureSettings s, bool quick)
    {
        ArgumentNullException.ThrowIfNull(s);
        s = s with
        {
            Steps = 120,
            Warmup = 40,
            Batch = 8,
            LearningRate = 5e-4f,
            // 4× the UNet's: at 5e-4 the discriminator was still at chance after the 40 warm-up steps and the 80
            // updates left the stars in place (docs/world.md, "Erasing in the built-in world").
            DiscriminatorLearningRate = 2e-3f,
            AnchorCount = 64,
            AnchorSteps = 12,
            AnchorGuidance = 4.5f,
            CheckpointInterval = 40,
        };
        if (s.Method == ErasureMethod.Esd) s = s with { Batch = 4, EsdDdimSteps = 12, EsdStartGuidance = 3f };
        if (s.Method != ErasureMethod.DoCo) s = s with { Warmup = 0 };
        return quick ? s with { Steps = 6, Warmup = s.Method == ErasureMethod.DoCo ? 2 : 0, Batch = 2, AnchorCount = 8, AnchorSteps = 4, EsdDdimSteps = 4, CheckpointInterval = 3 } : s;
    }

    /// <summary>
    /// A method's own recipe from the spec (<see cref="ErasureSettings.ForMethod"/>: its steps, learning rate and
    /// batch; for DoCo also the warm-up and the discriminator's learning rate, 1e-4 for objects and 5e-4 for styles),
    /// with steps and learning rates scaled by the common factor. The world's sampling budget (anchor images, DDIM
    /// steps) is the world's.
    /// </summary>
    public static ErasureSettings PaperRecipe(ErasureMethod method, bool style)
    {
        var paper = ErasureSettings.ForMethod(method);
        if (method == ErasureMethod.DoCo && style) paper = paper with { DiscriminatorLearningRate = 5e-4f };
        var world = Apply(paper, quick: false);
        int Scaled(int steps) => Math.Max(1, (int)Math.Round(steps * StepScale));
        return world with
        {
            Steps = Scaled(paper.Steps),
            Warmup = method == ErasureMethod.DoCo ? Scaled(paper.Warmup) : 0,
            Batch = paper.Batch,
            LearningRate = (float)(paper.LearningRate * LearningRateScale),
            DiscriminatorLearningRate = (float)(paper.DiscriminatorLearningRate * LearningRateScale),
        };
    }
}
