using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco world render|pretrain|denoise|classifier|quality</c>: the built-in world (docs/world.md), one file per sub-verb.
/// </summary>
internal static class WorldCommand
{
    public static Command Create()
    {
        var world = new Command("world", "The built-in world: render scenes, pretrain the built-in model.");
        world.Subcommands.Add(WorldRenderCommand.Create());
        world.Subcommands.Add(WorldPretrainCommand.Create());
        world.Subcommands.Add(WorldDenoiseCommand.Create());
        world.Subcommands.Add(WorldClassifierCommand.Create());
        world.Subcommands.Add(WorldQualityCommand.Create());
        return world;
    }
}
