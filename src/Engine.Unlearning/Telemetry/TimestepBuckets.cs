namespace Engine.Unlearning.Telemetry;

/// <summary>
/// DoCo's adversarial signal by timestep: the instance half's samples fall into <see cref="Count"/> equal ranges of t,
/// and each range gets the mean size of x̂0_fake − x̂0_real (root mean square over the image) and the discriminator's
/// accuracy on both sides. At low t both x̂0 are nearly the anchor image itself, at high t mostly the model's guess:
/// where the two differ, and where D can tell them apart, says which timesteps carry the erasure.
/// </summary>
public sealed record TimestepBuckets(float[] Gap, float[] Accuracy)
{
    public const int Count = 4;

    /// <summary>A step without the measurement (CA, ESD, the ablation without domain correction): NaN everywhere.</summary>
    public static TimestepBuckets None { get; } = new(Nan(), Nan());

    /// <summary>The bucket of timestep t of a T-step schedule.</summary>
    public static int Of(int t, int total) => Math.Clamp(t * Count / total, 0, Count - 1);

    /// <summary>gap_t0, gap_t250, …, then d_acc_t0, … (the lower edge of each range of a 1000-step schedule).</summary>
    public static IReadOnlyList<string> Columns { get; } =
        [.. Enumerable.Range(0, Count).Select(k => $"gap_t{k * 1000 / Count}"), .. Enumerable.Range(0, Count).Select(k => $"d_acc_t{k * 1000 / Count}")];

    /// <summary>Averages per-sample values into buckets (NaN where no sample fell).</summary>
    public static TimestepBuckets Average(ReadOnlySpan<int> buckets, ReadOnlySpan<float> gap, ReadOnlySpan<float> accuracy)
    {
        var g = new double[Count];
        var a = new double[Count];
        var n = new int[Count];
        for (int i = 0; i < buckets.Length; i++)
        {
            g[buckets[i]] += gap[i];
            a[buckets[i]] += accuracy[i];
            n[buckets[i]]++;
        }
        return new(
            [.. Enumerable.Range(0, Count).Select(k => n[k] > 0 ? (float)(g[k] / n[k]) : float.NaN)],
            [.. Enumerable.Range(0, Count).Select(k => n[k] > 0 ? (float)(a[k] / n[k]) : float.NaN)]);
    }

    private static float[] Nan() => [.. Enumerable.Repeat(float.NaN, Count)];
}
