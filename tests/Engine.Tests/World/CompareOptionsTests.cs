using Engine.Cli.Commands;
using Engine.Models.Unlearning;
using Engine.World;

namespace Engine.Tests.World;

/// <summary>Every `doco compare` option through the real parser, and the paper protocol's recipes.</summary>
public sealed class CompareOptionsTests
{
    public static TheoryData<string, string[]> EveryOption() => new()
    {
        { "--protocol", ["--protocol", "equal-updates"] },
        { "--updates", ["--updates", "10"] },
        { "--seeds", ["--seeds", "5"] },
        { "--concept", ["--concept", "striped"] },
        { "--anchor", ["--anchor", "plain"] },
        { "--type", ["--type", "style"] },
        { "--only", ["--only", "ca"] },
        { "--quick", ["--quick"] },
        { "--out", ["--out", "x"] },
        { "--ruler-seed", ["--ruler-seed", "2"] },
    };

    [Theory]
    [MemberData(nameof(EveryOption))]
    public void Option_ReachesTheOptions(string option, string[] args)
    {
        Assert.NotEqual(CompareCommand.Parse(), CompareCommand.Parse(args));
        Assert.Contains(option, args);
    }

    [Fact]
    public void EveryOption_HasARow()
    {
        var tested = EveryOption().Select(row => (string)row[0]).ToHashSet();
        var declared = CompareCommand.Create().Options.Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal) && n != "--help").ToArray();
        Assert.Equal([], declared.Where(n => !tested.Contains(n)).ToArray());
        Assert.Equal([], tested.Where(n => !declared.Contains(n)).ToArray());
    }

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
