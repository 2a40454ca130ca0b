using System.Globalization;
using System.Text;
using Engine.IO;

namespace Engine.Unlearning.Telemetry;

/// <summary>
/// The per-step CSV of an unlearning run. One line per step, flushed as it is written, so a killed run keeps every
/// finished step. Re-opening an existing log for a resume keeps the header and the rows before the resume step.
/// Columns: <see cref="Columns"/>; NaN is written "nan" (and ±infinity "inf"/"-inf"), numbers in invariant culture.
/// </summary>
public sealed class TrainingLog : IDisposable
{
    public const string FileName = "train.csv";

    public static readonly IReadOnlyList<string> LeadingColumns =
        ["step", "phase", "skipped", "l_adv", "l_ret", "l_d", "d_acc_real", "d_acc_fake", "fired_fraction", "mean_cosine"];

    public static readonly IReadOnlyList<string> TimingColumns =
        ["t_anchor", "t_trainable", "t_backward", "t_discriminator", "t_surgery", "t_optimizer"];

    /// <summary>Prefix of the per-tensor cosine columns: cos:down_blocks.1.attentions.0....attn2.to_k.weight.</summary>
    public const string CosinePrefix = "cos:";

    private readonly StreamWriter _writer;
    private readonly StringBuilder _line = new();
    private int _lastStep;

    private TrainingLog(string path, IReadOnlyList<string> tensorNames, StreamWriter writer, int lastStep)
    {
        Path = path;
        TensorNames = tensorNames;
        _writer = writer;
        _lastStep = lastStep;
    }

    public string Path { get; }
    public IReadOnlyList<string> TensorNames { get; }

    /// <summary>step, phase, ..., mean_cosine, one cos:&lt;name&gt; per tensor, fired (a 0/1 string, one digit per tensor), t_*,
    /// gap_t* and d_acc_t* (<see cref="TimestepBuckets"/>).</summary>
    public static IReadOnlyList<string> Columns(IReadOnlyList<string> tensorNames) =>
        [.. LeadingColumns, .. tensorNames.Select(n => CosinePrefix + n), "fired", .. TimingColumns, .. TimestepBuckets.Columns];

    /// <summary>
    /// Opens (creating when absent) the log at <paramref name="path"/> for the given trainable tensors. An existing file
    /// keeps its rows with step &lt; <paramref name="resumeStep"/> (so 0 starts it over) and loses the rest, including a
    /// last line cut short by a kill. Resuming (step &gt; 0) a log written for other tensors is an error.
    /// </summary>
    public static TrainingLog Open(string path, IReadOnlyList<string> tensorNames, int resumeStep = 0)
    {
        ArgumentNullException.ThrowIfNull(tensorNames);
        foreach (var n in tensorNames)
            if (n.Length == 0 || n.IndexOfAny([',', '"', '\n', '\r']) >= 0) throw new ArgumentException($"tensor name '{n}' cannot be a CSV column name", nameof(tensorNames));
        string header = string.Join(',', Columns(tensorNames));
        var kept = new StringBuilder(header).Append('\n');
        int lastStep = -1;
        if (File.Exists(path))
        {
            var lines = File.ReadAllText(path).Split('\n');
            // The text after the last '\n' is a line the writer never finished.
            lines = lines[..^1];
            if (lines.Length > 0 && lines[0].TrimEnd('\r') != header && resumeStep > 0)
                throw new InvalidDataException($"{path}: its columns are not those of this run's trainable tensors; cannot resume from step {resumeStep}");
            int fields = Columns(tensorNames).Count;
            foreach (var line in lines.Skip(1))
            {
                var cells = line.TrimEnd('\r').Split(',');
                if (cells.Length != fields || !int.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int step)) continue;
                if (step >= resumeStep || step <= lastStep) continue;
                kept.Append(line.TrimEnd('\r')).Append('\n');
                lastStep = step;
            }
        }
        AtomicFile.WriteAllText(path, kept.ToString());
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new TrainingLog(path, tensorNames, new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" }, lastStep);
    }

    private float[] NoCosines => _noCosines ??= [.. Enumerable.Repeat(float.NaN, TensorNames.Count)];
    private float[]? _noCosines;

    /// <summary>
    /// Writes and flushes the trainer's record of one step. Steps must increase. A step without gradient surgery
    /// (CA, ESD, warm-up) has no cosines: its cosine columns are empty (NaN) and nothing fired.
    /// </summary>
    public void Append(StepRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (r.Cosines.Length == 0 && r.Fired.Length == 0 && TensorNames.Count > 0)
            r = r with { Cosines = NoCosines, Fired = new bool[TensorNames.Count] };
        if (r.Cosines.Length != TensorNames.Count || r.Fired.Length != TensorNames.Count)
            throw new ArgumentException($"step {r.Step}: {r.Cosines.Length} cosines and {r.Fired.Length} fired flags for {TensorNames.Count} tensors", nameof(r));
        if (r.Step <= _lastStep) throw new ArgumentException($"step {r.Step} comes after step {_lastStep}", nameof(r));
        _line.Clear();
        _line.Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(r.Warmup ? "warmup" : "train").Append(',').Append(r.Skipped ? '1' : '0');
        foreach (float v in (ReadOnlySpan<float>)[r.LossAdv, r.LossRet, r.LossD, r.DAccReal, r.DAccFake, r.FiredFraction, r.MeanCosine]) _line.Append(',').Append(Format(v));
        foreach (float v in r.Cosines) _line.Append(',').Append(Format(v));
        _line.Append(',');
        foreach (bool f in r.Fired) _line.Append(f ? '1' : '0');
        foreach (double t in (ReadOnlySpan<double>)[r.AnchorSeconds, r.TrainableSeconds, r.BackwardSeconds, r.DiscriminatorSeconds, r.SurgerySeconds, r.OptimizerSeconds])
            _line.Append(',').Append(Format(Math.Round(t, 6)));
        foreach (float v in r.Buckets.Gap) _line.Append(',').Append(Format(v));
        foreach (float v in r.Buckets.Accuracy) _line.Append(',').Append(Format(v));
        _writer.Write(_line.Append('\n'));
        _writer.Flush();
        _lastStep = r.Step;
    }

    public void Dispose() => _writer.Dispose();

    public static string Format(double v) =>
        double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString(CultureInfo.InvariantCulture);

    private static string Format(float v) =>
        float.IsNaN(v) ? "nan" : float.IsPositiveInfinity(v) ? "inf" : float.IsNegativeInfinity(v) ? "-inf" : v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The inverse of the writer's number format; "nan", an empty cell and anything unparsable read as NaN.</summary>
    public static double Parse(string cell) => cell switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN,
    };
}
