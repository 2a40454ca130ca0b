using Engine.Unlearning;
using Engine.World;

namespace Engine.Tests.World;

/// <summary>
/// `doco compare`'s paper protocol: its recipes. Its options are checked for every verb by
/// tests/Engine.Tests/Cli/OptionBindingTests.cs.
/// </summary>
public sealed class CompareOptionsTests
{
    [Fact]
    public void PaperRecipes_ScaleEveryMethodByTheSameFactor()
    {
        double steps = WorldErasureDefaults.StepScale, lr = WorldErasureDefaults.LearningRateScale;
        foreach (var method in new[] { ErasureMethod.DoCo, ErasureMethod.ConceptAblation, ErasureMethod.Esd })
        {
            var paper = ErasureSettings.ForMethod(method);
            var world = WorldErasureDefaults.PaperRecipe(method, style: false);
            Assert.Equal(Math.Max(1, (int)Math.Round(paper.Steps * steps)), world.Steps);
            Assert.Equal(paper.LearningRate * lr, world.LearningRate, 1e-9);
            Assert.Equal(paper.Batch, world.Batch);
        }
        // DoCo's own rates: the discriminator's (objects 1e-4, styles 5e-4) scales with the rest.
        Assert.Equal(1e-4 * lr, WorldErasureDefaults.PaperRecipe(ErasureMethod.DoCo, style: false).DiscriminatorLearningRate, 1e-9);
        Assert.Equal(5e-4 * lr, WorldErasureDefaults.PaperRecipe(ErasureMethod.DoCo, style: true).DiscriminatorLearningRate, 1e-9);
        // The world's DoCo itself defines the factor.
        var doco = WorldErasureDefaults.Apply(new ErasureSettings(), quick: false);
        Assert.Equal(doco.Steps, WorldErasureDefaults.PaperRecipe(ErasureMethod.DoCo, false).Steps);
    }
}
