namespace Engine.World.Classifier;

/// <summary>
/// Softmax cross-entropy over several heads that share one logit row (shape, colour, style), on the host: the
/// logits are a few dozen floats per image, far too small to be worth an op. Loss = mean over the batch of the sum
/// over heads of −log softmax(head logits)[label]; dlogits = (softmax − onehot) / batch.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <param name="logits">[batch, Σ heads] row-major</param>
    /// <param name="labels">[batch, heads.Length]: the label of each head</param>
    /// <param name="heads">the size of each head, in row order</param>
    /// <param name="dlogits">overwritten with ∂loss/∂logits, or empty to skip</param>
    /// <returns>the loss</returns>
    public static double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, ReadOnlySpan<int> heads, int batch, Span<float> dlogits)
    {
        int width = 0;
        foreach (int h in heads) width += h;
        if (logits.Length != batch * width) throw new ArgumentException($"logits hold {logits.Length} values, expected {batch}×{width}");
        if (labels.Length != batch * heads.Length) throw new ArgumentException($"labels hold {labels.Length} values, expected {batch}×{heads.Length}");
        bool grad = !dlogits.IsEmpty;
        if (grad && dlogits.Length != logits.Length) throw new ArgumentException($"dlogits hold {dlogits.Length} values, expected {logits.Length}");
        double loss = 0;
        for (int b = 0; b < batch; b++)
        {
            int offset = b * width;
            for (int h = 0; h < heads.Length; h++)
            {
                int n = heads[h], label = labels[b * heads.Length + h];
                if ((uint)label >= (uint)n) throw new ArgumentException($"label {label} of head {h} is outside 0..{n - 1}");
                var z = logits.Slice(offset, n);
                // log-sum-exp shifted by the maximum, in double, so large logits neither overflow nor lose the label's term.
                double max = double.NegativeInfinity;
                foreach (float v in z) max = Math.Max(max, v);
                double sum = 0;
                foreach (float v in z) sum += Math.Exp(v - max);
                double lse = max + Math.Log(sum);
                loss += lse - z[label];
                if (grad)
                    for (int k = 0; k < n; k++)
                        dlogits[offset + k] = (float)((Math.Exp(z[k] - lse) - (k == label ? 1 : 0)) / batch);
                offset += n;
            }
        }
        return loss / batch;
    }

    /// <summary>The arg-max of each head for each row: [batch, heads.Length].</summary>
    public static int[] Predict(ReadOnlySpan<float> logits, ReadOnlySpan<int> heads, int batch)
    {
        int width = 0;
        foreach (int h in heads) width += h;
        var result = new int[batch * heads.Length];
        for (int b = 0; b < batch; b++)
        {
            int offset = b * width;
            for (int h = 0; h < heads.Length; h++)
            {
                var z = logits.Slice(offset, heads[h]);
                int best = 0;
                for (int k = 1; k < z.Length; k++) if (z[k] > z[best]) best = k;
                result[b * heads.Length + h] = best;
                offset += heads[h];
            }
        }
        return result;
    }
}
