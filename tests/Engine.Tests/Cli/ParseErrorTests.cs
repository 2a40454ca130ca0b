namespace Engine.Tests.Cli;

/// <summary>
/// A command line the parser rejects exits 2 with one line on stderr, <c>doco &lt;verb&gt;: &lt;message&gt;</c>, the
/// message naming the option: the same as a bad value that a verb's own checks refuse. Exit 1 stays "checked and
/// failed" (verify, selftest, world quality).
/// </summary>
public class ParseErrorTests
{
    [Theory]
    [InlineData("doco erase: ", new[] { "--steps", "many" }, "erase", "--steps", "many")]
    [InlineData("doco erase: ", new[] { "--stpes", "3" }, "erase", "--stpes", "3")]
    [InlineData("doco erase: ", new[] { "--seed", "-1" }, "erase", "--seed", "-1")]
    [InlineData("doco compare: ", new[] { "--updates", "lots" }, "compare", "--updates", "lots")]
    [InlineData("doco compare: ", new[] { "maybe" }, "compare", "--quick", "maybe")]
    [InlineData("doco sample: ", new[] { "--model" }, "sample", "--prompt", "a cat")]
    [InlineData("doco sample: ", new[] { "--cfg", "high" }, "sample", "--model", "m", "--prompt", "a cat", "--cfg", "high")]
    [InlineData("doco world pretrain: ", new[] { "--lr", "fast" }, "world", "pretrain", "--lr", "fast")]
    [InlineData("doco: ", new[] { "frobnicate" }, "frobnicate")]
    public void ParseError_Exits2_WithOneLineNamingTheOption(string prefix, string[] named, params string[] args)
    {
        var (exit, output, error) = Doco.Run(args);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith(prefix, line, StringComparison.Ordinal);
        foreach (string word in named) Assert.Contains($"'{word}'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_StillExits0()
    {
        var (exit, output, error) = Doco.Run("erase", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--disc-norm", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }
}
