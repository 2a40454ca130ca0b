using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Reports.Html;

namespace Engine.Reports.Pages;

/// <summary>
/// The sizes of what a run left in its folder, one row per top-level entry (a folder summed over its files), with
/// the bytes the manifest lists as linked or copied from the base model told apart from those written.
/// </summary>
internal static class FolderSizes
{
    /// <param name="manifestFiles">manifest.json's "files" (path → {bytes, source}), or null</param>
    /// <param name="notes">a word on known entries (e.g. "cache" → what it holds)</param>
    public static (List<IReadOnlyList<Cell>> Rows, long Total) Rows(string folder, JsonObject? manifestFiles, IReadOnlyDictionary<string, string> notes, params string[] skip)
    {
        var c = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<Cell>>();
        long total = 0;
        var dir = new DirectoryInfo(folder);
        foreach (var entry in dir.EnumerateFileSystemInfos().Where(e => !e.Name.StartsWith('.') && !skip.Contains(e.Name)).OrderBy(e => e is FileInfo).ThenBy(e => e.Name, StringComparer.Ordinal))
        {
            var files = entry is DirectoryInfo d ? d.EnumerateFiles("*", SearchOption.AllDirectories).ToList() : [(FileInfo)entry];
            long bytes = files.Sum(f => f.Length);
            total += bytes;
            long fromBase = 0;
            foreach (var f in files)
            {
                string rel = Path.GetRelativePath(folder, f.FullName).Replace('\\', '/');
                if (manifestFiles?[rel]?["source"]?.GetValue<string>() is "linked" or "copied") fromBase += f.Length;
            }
            string note = notes.TryGetValue(entry.Name, out var n) ? n : "";
            if (fromBase > 0) note = (note.Length > 0 ? note + "; " : "") + $"{Units.Bytes(fromBase)} of it linked or copied from the base model";
            rows.Add([new Cell(entry.Name + (entry is DirectoryInfo ? "/" : ""), "path"),
                entry is DirectoryInfo ? files.Count.ToString(c) : "", Units.Bytes(bytes), note]);
        }
        return (rows, total);
    }
}
