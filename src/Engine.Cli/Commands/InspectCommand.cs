using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary><c>doco inspect &lt;file.safetensors | model folder&gt;</c>: tensors, totals, metadata.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "a .safetensors file or a model folder" };
        var cmd = new Command("inspect", "List every tensor of a safetensors file or model folder.") { path };
        cmd.SetAction(parse =>
        {
            Console.Error.WriteLine($"inspect: not implemented yet ({parse.GetValue(path)})");
            return 2;
        });
        return cmd;
    }
}
