using System.CommandLine;
using Engine.Cli;

namespace Engine.Tests.Cli;

/// <summary>Runs <c>doco</c> in-process through the shipped command tree (<see cref="Program.CreateRoot"/>), output captured.</summary>
internal static class Doco
{
    /// <summary><c>doco args…</c> as <see cref="Program.Main"/> runs it (parse errors included): exit code, stdout, stderr.</summary>
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = Program.Invoke(Program.CreateRoot().Parse(args), new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The options record that <c>doco args…</c> hands to its verb's Run, without running it.</summary>
    public static object Bind(params string[] args)
    {
        var parse = Program.CreateRoot().Parse(args);
        Assert.True(parse.Errors.Count == 0, $"doco {string.Join(' ', args)}: " + string.Join("; ", parse.Errors.Select(e => e.Message)));
        return Assert.IsAssignableFrom<IBoundCommand>(parse.CommandResult.Command).Bind(parse);
    }

    /// <inheritdoc cref="Bind(string[])"/>
    public static TOptions Bind<TOptions>(params string[] args) => Assert.IsType<TOptions>(Bind(args));

    /// <summary>
    /// <paramref name="args"/> with the value after each option named in <paramref name="overrides"/> (option, value,
    /// option, value…) replaced, or the pair appended: the parser rejects an option given twice.
    /// </summary>
    public static string[] With(string[] args, params string[] overrides)
    {
        var list = args.ToList();
        for (int i = 0; i < overrides.Length; i += 2)
        {
            int at = list.IndexOf(overrides[i]);
            if (at >= 0) list[at + 1] = overrides[i + 1];
            else list.AddRange([overrides[i], overrides[i + 1]]);
        }
        return [.. list];
    }
}
