namespace Engine.Reports.Plots;

/// <summary>The smoothing drawn over noisy per-step values.</summary>
public static class MovingAverage
{
    /// <summary>Centred moving average over ±radius rows of the finite values; NaN where the window has none.</summary>
    public static double[] Centred(double[] y, int radius)
    {
        var sum = new double[y.Length + 1];
        var count = new int[y.Length + 1];
        for (int i = 0; i < y.Length; i++)
        {
            bool ok = double.IsFinite(y[i]);
            sum[i + 1] = sum[i] + (ok ? y[i] : 0);
            count[i + 1] = count[i] + (ok ? 1 : 0);
        }
        var s = new double[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int lo = Math.Max(0, i - radius), hi = Math.Min(y.Length, i + radius + 1);
            int n = count[hi] - count[lo];
            s[i] = n > 0 ? (sum[hi] - sum[lo]) / n : double.NaN;
        }
        return s;
    }
}
