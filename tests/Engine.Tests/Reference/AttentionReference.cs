namespace Engine.Tests.Reference;

/// <summary>Scaled-dot-product attention in double, one (b, h, query) at a time, on the [B, T, H, D] layout.</summary>
public static class AttentionReference
{
    /// <summary>Returns o [B, Tq, H, D] and lse [B, H, Tq].</summary>
    public static (double[] O, double[] Lse) Forward(double[] q, double[] k, double[] v, int batch, int tq, int tk, int heads, int headDim, bool causal, double scale)
    {
        var o = new double[batch * tq * heads * headDim];
        var lse = new double[batch * heads * tq];
        var scores = new double[tk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++)
                {
                    int keys = causal ? i + 1 : tk; // causal: key j > query i is masked
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < keys; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += q[Index(b, i, h, d, tq, heads, headDim)] * k[Index(b, j, h, d, tk, heads, headDim)];
                        scores[j] = dot * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) sum += Math.Exp(scores[j] - max);
                    lse[(b * heads + h) * tq + i] = max + Math.Log(sum);
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < keys; j++) acc += Math.Exp(scores[j] - max) / sum * v[Index(b, j, h, d, tk, heads, headDim)];
                        o[Index(b, i, h, d, tq, heads, headDim)] = acc;
                    }
                }
        return (o, lse);
    }

    private static int Index(int b, int t, int h, int d, int tokens, int heads, int headDim) => ((b * tokens + t) * heads + h) * headDim + d;
}
