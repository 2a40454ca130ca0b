namespace Engine.World;

/// <summary>Why the world's reflection-based JSON is safe in a trimmed publish.</summary>
internal static class TrimNote
{
    /// <summary>The justification of the IL2026 suppressions on the world's JSON methods.</summary>
    public const string Json = "the trimmed publish (build.ps1 gpu-check) keeps Engine.World and Engine.Models whole (TrimmerRootAssembly in Engine.Cli.csproj), so the serialized records keep their members";
}
