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

    /// <summary>
    /// A verb that can stop early: the first Ctrl-C cancels <c>run</c>'s token (the verb stops where it can, saving
    /// what it must); a second Ctrl-C ends the process as usual.
    /// </summary>
    public BoundCommand(string name, string description, Func<ParseResult, TOptions> bind, Func<TOptions, TextWriter, TextWriter, CancellationToken, int> run)
        : base(name, description)
    {
        _bind = bind;
        SetAction(parse =>
        {
            var options = bind(parse);
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                if (cts.IsCancellationRequested) return; // the second Ctrl-C: not cancelled, so the process ends
                e.Cancel = true;
                cts.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                return run(options, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cts.Token);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
    }

    public object Bind(ParseResult parse) => _bind(parse);
}
