using System.CommandLine;
using Engine.Cli.Commands;

namespace Engine.Cli;

public static class Program
{
    public static int Main(string[] args)
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
        return root.Parse(args).Invoke();
    }
}
