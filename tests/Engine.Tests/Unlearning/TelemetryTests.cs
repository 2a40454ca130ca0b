using System.Globalization;
using Engine.IO.Images;
using Engine.Tests.IO;
using Engine.Unlearning;
using Engine.Unlearning.Telemetry;

namespace Engine.Tests.Unlearning;

/// <summary>The training CSV (round trip, flushing, resume) and its plots (valid PNGs, NaN and empty data).</summary>
public sealed class TelemetryTests : IDisposable
{
    private static readonly string[] Tensors = ["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", "mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight"];
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Csv => Path.Combine(_dir, TrainingLog.FileName);

    /// <summary>A plausible step: losses that fall, an accuracy that rises, a surgery that fires on one tensor.</summary>
    private static StepRecord Record(int step, bool skipped = false)
    {
        int k = 0;
        float Noise(float scale) // a fixed hash of (step, k): new Random(step) would correlate neighbouring steps
        {
            double h = Math.Sin(step * 12.9898 + ++k * 78.233) * 43758.5453;
            return (float)(h - Math.Floor(h) - 0.5) * scale;
        }
        float nan = skipped ? float.NaN : 1f;
        return new StepRecord(step, step < 3, skipped, nan * (2f * MathF.Exp(-step / 40f) + Noise(0.3f)), nan * (0.1f + Noise(0.02f)),
            nan * (1.3f - step / 200f + Noise(0.2f)), Math.Clamp(0.5f + step / 150f + Noise(0.1f), 0, 1), Math.Clamp(0.5f + step / 200f + Noise(0.1f), 0, 1),
            0.5f, Noise(1f), [Noise(2f), skipped ? float.NaN : Noise(2f)], [true, false], 0.25, 0.5 + step * 1e-3, 1.0 / 3, 0.125, 1e-4, 2e-7)
        {
            Buckets = new TimestepBuckets([0.1f + Noise(0.05f), 0.3f, 0.6f, 1.2f + Noise(0.1f)], [0.5f, 0.55f, 0.7f, 0.9f + Noise(0.1f)]),
        };
    }

    private void WriteSteps(int from, int to, int resumeStep = 0)
    {
        using var log = TrainingLog.Open(Csv, Tensors, resumeStep);
        for (int s = from; s < to; s++) log.Append(Record(s, skipped: s == 7));
    }

    [Fact]
    public void Csv_RoundTripsEveryValue()
    {
        WriteSteps(0, 12);
        var t = TelemetryTable.Read(Csv);
        Assert.Equal(TrainingLog.Columns(Tensors), t.Columns);
        Assert.Equal("step,phase,skipped,l_adv,l_ret,l_d,d_acc_real,d_acc_fake,fired_fraction,mean_cosine,cos:" + Tensors[0] + ",cos:" + Tensors[1]
            + ",fired,t_anchor,t_trainable,t_backward,t_discriminator,t_surgery,t_optimizer"
            + ",gap_t0,gap_t250,gap_t500,gap_t750,d_acc_t0,d_acc_t250,d_acc_t500,d_acc_t750", File.ReadLines(Csv).First());
        Assert.Equal(12, t.Rows.Count);
        for (int s = 0; s < 12; s++)
        {
            var r = Record(s, skipped: s == 7);
            var row = t.Rows[s];
            Assert.Equal(s.ToString(CultureInfo.InvariantCulture), row[0]);
            Assert.Equal(s < 3 ? "warmup" : "train", row[1]);
            Assert.Equal(s == 7 ? "1" : "0", row[2]);
            float[] expected = [r.LossAdv, r.LossRet, r.LossD, r.DAccReal, r.DAccFake, r.FiredFraction, r.MeanCosine, .. r.Cosines];
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], (float)TrainingLog.Parse(row[3 + i])); // bit exact; NaN == NaN here
            Assert.Equal("10", row[12]);
            Assert.Equal(Math.Round(1.0 / 3, 6), t.Numbers("t_backward")[s]);
            Assert.Equal(r.Buckets.Gap[3], (float)t.Numbers("gap_t750")[s]);
            Assert.Equal(r.Buckets.Accuracy[0], (float)t.Numbers("d_acc_t0")[s]);
        }
        Assert.Equal("nan", t.Rows[7][3]);
        Assert.All(t.Rows.Where((_, i) => i != 7), row => Assert.DoesNotContain("nan", row));
        Assert.Equal(double.PositiveInfinity, TrainingLog.Parse(TrainingLog.Format(double.PositiveInfinity)));
        Assert.True(double.IsNaN(TrainingLog.Parse("")));
    }

    [Fact]
    public void Rows_AreOnDisk_BeforeTheLogIsClosed()
    {
        using var log = TrainingLog.Open(Csv, Tensors);
        log.Append(Record(0));
        log.Append(Record(1));
        Assert.Equal(2, TelemetryTable.Read(Csv).Rows.Count); // what a killed run would leave
        Assert.Throws<ArgumentException>(() => log.Append(Record(1)));
        Assert.Throws<ArgumentException>(() => log.Append(Record(2) with { Cosines = [1f] }));
    }

    [Fact]
    public void Resume_KeepsHeader_DropsRowsFromTheResumeStep_AndATornLine()
    {
        WriteSteps(0, 10);
        File.AppendAllText(Csv, "10,train,0,1.2"); // killed in the middle of a line
        WriteSteps(6, 9, resumeStep: 6);
        var t = TelemetryTable.Read(Csv);
        Assert.Equal(TrainingLog.Columns(Tensors), t.Columns);
        Assert.Equal(Enumerable.Range(0, 9).Select(s => (double)s), t.Numbers("step"));
        Assert.Single(File.ReadLines(Csv), l => l.StartsWith("step,", StringComparison.Ordinal));

        // A different set of trainable tensors cannot continue this log; a fresh start (step 0) replaces it.
        Assert.Throws<InvalidDataException>(() => TrainingLog.Open(Csv, [Tensors[0]], resumeStep: 3));
        TrainingLog.Open(Csv, [Tensors[0]]).Dispose();
        Assert.Empty(TelemetryTable.Read(Csv).Rows);
    }

    [Fact]
    public void Plots_AreValidPngs_OfTheExpectedSize()
    {
        WriteSteps(0, 120);
        string plots = Path.Combine(_dir, "plots");
        using (var log = TrainingLog.Open(Csv, Tensors, resumeStep: 120)) log.WritePlots(plots);
        foreach (var (name, h) in new[] { ("losses.png", TrainingPlots.Height), ("discriminator.png", TrainingPlots.Height), ("surgery.png", TrainingPlots.SurgeryHeight), ("timesteps.png", 2 * TrainingPlots.Height) })
        {
            var (w, hh, rgb) = PngTests.Decode(File.ReadAllBytes(Path.Combine(plots, name)));
            Assert.Equal((TrainingPlots.Width, h), (w, hh));
            Assert.True(rgb.Any(b => b != 255), $"{name} is blank");
        }
        // The smoothed L_adv line is drawn in full colour somewhere in the plot area.
        var (_, _, losses) = PngTests.Decode(File.ReadAllBytes(Path.Combine(plots, "losses.png")));
        Assert.True(HasColour(losses, Palette.Blue), "no L_adv line");
    }

    [Fact]
    public void Plots_DoNotThrow_OnEmptyOrNaNColumns()
    {
        string plots = Path.Combine(_dir, "empty");
        TrainingLog.Open(Csv, Tensors).Dispose();
        TrainingPlots.Write(Csv, plots);
        Assert.Equal(4, Directory.GetFiles(plots, "*.png").Length);

        using (var log = TrainingLog.Open(Csv, Tensors))
            for (int s = 0; s < 5; s++) log.Append(Record(s, skipped: true) with { DAccReal = float.NaN, DAccFake = float.NaN, MeanCosine = float.NaN, Cosines = [float.NaN, float.NaN] });
        TrainingPlots.Write(Csv, plots);
        TrainingLog.Open(Csv, []).Dispose(); // no trainable tensors: no cos: columns, an empty heatmap
        TrainingPlots.Write(Csv, plots);
        Assert.Equal(TrainingPlots.SurgeryHeight, PngTests.Decode(File.ReadAllBytes(Path.Combine(plots, "surgery.png"))).H);
    }

    [Fact]
    public void Ticks_AreRound_AndLabelsHaveEnoughDecimals()
    {
        Assert.Equal([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1], Axes.NiceTicks(0, 1, 5).Ticks);
        Assert.Equal(["0", "500", "1000"], Axes.NiceTicks(0, 1000, 2).Ticks.Select(t => Axes.Format(t, 500)));
        Assert.Equal("0.05", Axes.Format(0.05, 0.05));
        Assert.Equal("-0.25", Axes.Format(-0.25, 0.05));
        Assert.Equal("2E-5", Axes.Format(2e-5, 1e-5));
        Assert.Equal([2.0, 2.0, 3.5, 4.5, 4.5], TrainingPlots.Smooth([1, 3, double.NaN, 4, 5], 1));
    }

    [Fact]
    public void Text_DrawsGlyphs_AndLinesAreAntiAliased()
    {
        var c = new Canvas(40, 20, Rgb.White);
        c.Text(1, 1, "0.5e-3", Rgb.Black);
        Assert.Contains(c.Pixels, b => b == 0);
        var d = new Canvas(40, 40, Rgb.White);
        d.Polyline([2.5, 37.5], [3.5, 30.5], Rgb.Black, 1, (0, 0, 40, 40));
        Assert.Contains(d.Pixels, b => b is > 0 and < 255); // partial coverage: anti-aliased, not a staircase
        Assert.Equal(0, d.Pixels[(int)((3 * 40 + 2) * 3)]);    // the start point is fully covered
    }

    private static bool HasColour(byte[] rgb, Rgb c)
    {
        for (int i = 0; i < rgb.Length; i += 3)
            if (rgb[i] == c.R && rgb[i + 1] == c.G && rgb[i + 2] == c.B) return true;
        return false;
    }
}
