using Engine.Cli.Commands;
using Engine.Tests.Cli;

namespace Engine.Tests.Unlearning;

/// <summary>
/// `doco erase`'s tri-state options through the shipped parser. That each option reaches its field of
/// <see cref="EraseCommand.Options"/> is checked for every verb by tests/Engine.Tests/Cli/OptionBindingTests.cs.
/// </summary>
public sealed class EraseOptionsTests
{
    [Fact]
    public void BoolOptions_Bind()
    {
        var o = Doco.Bind<EraseCommand.Options>("erase", "--eval", "false", "--quick", "--single-file", "--hflip", "false");
        Assert.False(o.Eval);
        Assert.True(o.Quick);
        Assert.True(o.SingleFile);
        Assert.False(o.HFlip);
        Assert.Null(Doco.Bind<EraseCommand.Options>("erase").Eval);
    }
}
