using System.CommandLine;
using Engine.Cli;

namespace Engine.Tests.Cli;

/// <summary>Runs <c>doco</c> in-process through the shipped command tree (<see cref="Program.CreateRoot"/>), output captured.</summary>
internal static class Doco
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = Program.CreateRoot().Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

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
