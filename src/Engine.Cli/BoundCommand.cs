using System.CommandLine;

namespace Engine.Cli;

/// <summary>A verb whose parse can be bound without running it: what the binding tests call.</summary>
internal interface IBoundCommand
{
    /// <summary>The options record that <paramref name="parse"/> hands to the verb's Run.</summary>
    object Bind(ParseResult parse);
}

/// <summary>
/// A verb in two steps: <c>bind</c> turns the parse into one options record, <c>run</c> does the work with that record
/// and the invocation's writers (the console in <c>doco</c>, StringWriters in tests). Everything an option changes
/// has to pass through the record, so a test that binds each option through <see cref="Program.CreateRoot"/> and
/// sees the record change catches an option that is parsed but never handed on.
/// </summary>
internal sealed class BoundCommand<TOptions> : Command, IBoundCommand
    where TOptions : notnull
{
    private readonly Func<ParseResult, TOptions> _bind;

    public BoundCommand(string name, string description, Func<ParseResult, TOptions> bind, Func<TOptions, TextWriter, TextWriter, int> run)
        : base(name, description)
    {
        _bind = bind;
        SetAction(parse => run(bind(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
    }

    public object Bind(ParseResult parse) => _bind(parse);
}
