using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Engine.Cli.Commands;

namespace Engine.Cli;

public static class Program
{
    public static int Main(string[] args) => Invoke(CreateRoot().Parse(args), new InvocationConfiguration());

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
        root.Subcommands.Add(LoraCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(CompareCommand.Create());
        return root;
    }

    /// <summary>
    /// Runs a parse of <see cref="CreateRoot"/>'s tree, as <c>doco</c> does. A command line that does not parse (an
    /// unknown option, a missing required one, a value of the wrong type) exits 2 with one line on stderr,
    /// <c>doco &lt;verb&gt;: &lt;the parser's message&gt;</c>, as the verbs' own argument checks do; exit 1 stays
    /// "checked and failed" (verify, selftest, world quality).
    /// </summary>
    public static int Invoke(ParseResult parse, InvocationConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(configuration);
        if (parse.Action is not ParseErrorAction) return parse.Invoke(configuration);
        var verb = new List<string>();
        for (var c = parse.CommandResult; c.Parent is CommandResult parent; c = parent) verb.Insert(0, c.Command.Name);
        string path = string.Join(' ', ["doco", .. verb]);
        string messages = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
        configuration.Error.WriteLine($"{path}: {messages} (see {path} --help)");
        return 2;
    }
}
