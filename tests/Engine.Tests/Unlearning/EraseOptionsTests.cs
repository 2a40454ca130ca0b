using Engine.Cli.Commands;

namespace Engine.Tests.Unlearning;

/// <summary>
/// Every `doco erase` option through the real System.CommandLine parser: each one, given a value other than its
/// default, must change the options the verb runs on. An option that parses but is never bound fails here (--eval,
/// --quick and --single-file once did).
/// </summary>
public sealed class EraseOptionsTests
{
    /// <summary>One non-default command line per option.</summary>
    public static TheoryData<string, string[]> EveryOption() => new()
    {
        { "--model", ["--model", "somewhere"] },
        { "--concept", ["--concept", "parachute"] },
        { "--anchor", ["--anchor", "airplane"] },
        { "--type", ["--type", "style"] },
        { "--method", ["--method", "esd"] },
        { "--surgery", ["--surgery", "official"] },
        { "--steps", ["--steps", "7"] },
        { "--warmup", ["--warmup", "3"] },
        { "--batch", ["--batch", "2"] },
        { "--lr", ["--lr", "0.001"] },
        { "--dlr", ["--dlr", "0.002"] },
        { "--anchors", ["--anchors", "5"] },
        { "--anchor-steps", ["--anchor-steps", "3"] },
        { "--train", ["--train", "full"] },
        { "--out", ["--out", "elsewhere"] },
        { "--cache", ["--cache", "c"] },
        { "--resume", ["--resume"] },
        { "--seed", ["--seed", "7"] },
        { "--backend", ["--backend", "cuda"] },
        { "--checkpoint-every", ["--checkpoint-every", "5"] },
        { "--esd-ddim-steps", ["--esd-ddim-steps", "9"] },
        { "--official-d-leak", ["--official-d-leak"] },
        { "--apply-retain-grad", ["--apply-retain-grad"] },
        { "--eval", ["--eval", "false"] },
        { "--quick", ["--quick"] },
        { "--single-file", ["--single-file"] },
        { "--no-domain-correction", ["--no-domain-correction"] },
        { "--discriminator-only", ["--discriminator-only"] },
        { "--adv-tmin", ["--adv-tmin", "100"] },
        { "--adv-tmax", ["--adv-tmax", "600"] },
        { "--hflip", ["--hflip"] },
        { "--disc-layers", ["--disc-layers", "2"] },
        { "--disc-width", ["--disc-width", "32"] },
        { "--ruler-seed", ["--ruler-seed", "3"] },
        { "--disc-norm", ["--disc-norm", "none"] },
    };

    [Theory]
    [MemberData(nameof(EveryOption))]
    public void Option_ReachesTheOptions(string option, string[] args)
    {
        var bound = EraseCommand.Parse(args);
        Assert.NotEqual(EraseCommand.Parse(), bound);
        Assert.Contains(option, args);
    }

    [Fact]
    public void EveryOption_HasARow()
    {
        var tested = EveryOption().Select(row => (string)row[0]).ToHashSet();
        var declared = EraseCommand.Create().Options.Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal) && n != "--help").ToList();
        Assert.Equal([], declared.Where(n => !tested.Contains(n)).ToArray());
        Assert.Equal([], tested.Where(n => !declared.Contains(n)).ToArray());
    }

    [Fact]
    public void Parse_RejectsAValueOfTheWrongType()
    {
        var e = Assert.Throws<ArgumentException>(() => EraseCommand.Parse("--steps", "many"));
        Assert.Contains("many", e.Message);
    }

    [Fact]
    public void BoolOptions_Bind()
    {
        var o = EraseCommand.Parse("--eval", "false", "--quick", "--single-file", "--hflip", "false");
        Assert.False(o.Eval);
        Assert.True(o.Quick);
        Assert.True(o.SingleFile);
        Assert.False(o.HFlip);
        Assert.Null(EraseCommand.Parse().Eval);
    }
}
