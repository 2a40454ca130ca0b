namespace Engine.Unlearning.Telemetry;

/// <summary>A <see cref="TrainingLog"/> CSV read back: its header and cells, with numeric columns on demand.</summary>
public sealed class TelemetryTable
{
    private TelemetryTable(string[] columns, List<string[]> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    public IReadOnlyList<string> Columns { get; }

    /// <summary>The complete rows (as many cells as columns); a torn last line is left out.</summary>
    public IReadOnlyList<string[]> Rows { get; }

    /// <summary>The per-tensor cosine columns, in file order.</summary>
    public IEnumerable<string> CosineColumns => Columns.Where(c => c.StartsWith(TrainingLog.CosinePrefix, StringComparison.Ordinal));

    /// <summary>Reads the file while a writer may still be appending to it.</summary>
    public static TelemetryTable Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        string text = reader.ReadToEnd();
        var lines = text.Split('\n')[..^1]; // what follows the last '\n' is unfinished
        if (lines.Length == 0) throw new InvalidDataException($"{path}: no header line");
        var columns = lines[0].TrimEnd('\r').Split(',');
        var rows = lines.Skip(1).Select(l => l.TrimEnd('\r').Split(',')).Where(cells => cells.Length == columns.Length).ToList();
        return new TelemetryTable(columns, rows);
    }

    public bool Has(string column) => Columns.Contains(column);

    /// <summary>A column as numbers (<see cref="TrainingLog.Parse"/>); NaN for every row when the column is absent.</summary>
    public double[] Numbers(string column)
    {
        int c = Columns.ToList().IndexOf(column);
        return Rows.Select(r => c < 0 ? double.NaN : TrainingLog.Parse(r[c])).ToArray();
    }
}
