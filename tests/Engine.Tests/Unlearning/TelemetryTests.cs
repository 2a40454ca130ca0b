using System.Globalization;
using Engine.Unlearning;
using Engine.Unlearning.Telemetry;

namespace Engine.Tests.Unlearning;

/// <summary>The training CSV: round trip, flushing, resume. Its plots: Reports/TrainingPlotsTests.</summary>
public sealed class TelemetryTests : IDisposable
{
    internal static readonly string[] Tensors = ["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", "mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight"];
    private readonly string _dir = Directory.CreateTempSubdirectory("telemetry-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Csv => Path.Combine(_dir, TrainingLog.FileName);

    /// <summary>A plausible step: losses that fall, an accuracy that rises, a surgery that fires on one tensor.</summary>
    internal static StepRecord Record(int step, bool skipped = false)
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
}
