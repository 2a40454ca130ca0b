using System.CommandLine;
using Engine.Cli.Commands;

namespace Engine.Cli;

public static class Program
{
    public static int Main(string[] args) => CreateRoot().Parse(args).Invoke();

    /// <summary>
    /// The whole command tree, as shipped: tests parse with it (tests/Engine.Tests/Cli/OptionBindingTests.cs), so an
    /// option is checked through the same parser a user meets.
    /// </summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("doco: concept erasure (DoCo, Concept Ablation, ESD) for Stable Diffusion 1.x, in C#.");
        // One file per verb under Commands/; each returns its Command.
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(KernelsCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(SampleCommand.Create());
        root.Subcommands.Add(SelftestCommand.Create());
        root.Subcommands.Add(WorldCommand.Create());
        root.Subcommands.Add(EraseCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(CompareCommand.Create());
        return root;
    }
}
