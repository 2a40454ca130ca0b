namespace Engine.World;

/// <summary>Finds the shipped models (models/world, models/classifier) from wherever a command or a test runs.</summary>
public static class ModelSearch
{
    /// <summary>
    /// Walks up from <paramref name="start"/> (default: the current directory) looking for the relative folder
    /// <paramref name="relative"/> that contains <paramref name="marker"/>; returns its full path or null.
    /// </summary>
    public static string? FindUp(string relative, string? start = null, string marker = "model_index.json")
    {
        for (var dir = new DirectoryInfo(start ?? Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(Path.Combine(candidate, marker))) return candidate;
        }
        return null;
    }
}
