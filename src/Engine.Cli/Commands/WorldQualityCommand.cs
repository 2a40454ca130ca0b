using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary><c>doco world quality</c>: placeholder, filled in with the ruler.</summary>
internal static class WorldQualityCommand
{
    public static Command Create() => new("quality", "Check a model against the quality bar.");
}
