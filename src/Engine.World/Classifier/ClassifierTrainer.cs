using Engine.Ops;

namespace Engine.World.Classifier;

/// <summary>Settings of <c>doco world classifier</c>.</summary>
public sealed record ClassifierSettings(int Steps = 600, int Batch = 32, float LearningRate = 2e-3f, float WeightDecay = 1e-4f, int Seed = 7, int EvalImages = 2000);

/// <summary>
/// Trains the classifier on freshly rendered scenes (every scene new, three in four augmented), AdamW with a short
/// warm-up and a cosine decay; every draw derives from the seed, so a run repeats exactly. Evaluation renders
/// <see cref="ClassifierSettings.EvalImages"/> scenes from a different seed, once clean and once augmented.
/// </summary>
public static class ClassifierTrainer
{
    public static double Train(WorldClassifier model, ClassifierSettings s, Action<int, double>? onStep = null)
    {
        var ops = model.Ops;
        model.Initialize((ulong)s.Seed);
        int size = model.Config.ImageSize, numel = 3 * size * size, heads = model.Config.Heads.Length;
        using var a = model.Activations(s.Batch);
        using var arena = ops.CreateArena();
        var grads = model.Parameters.Grads;
        var m = arena.Alloc(grads.Shape);
        var v = arena.Alloc(grads.Shape);
        var dLogits = arena.Alloc(a.Logits.Shape);
        var images = new float[s.Batch * numel];
        var labels = new int[s.Batch * heads];
        var host = new float[a.Logits.Numel];
        var dHost = new float[a.Logits.Numel];
        using var renderer = new WorldRenderer(size);
        var rng = new Random(s.Seed);
        double smooth = double.NaN;
        for (int step = 1; step <= s.Steps; step++)
        {
            Batch(renderer, rng, images, labels, s.Batch, augmentShare: 0.75);
            ops.CopyFromHost(a.Input, images);
            model.Forward(a, a.Input);
            ops.CopyToHost(host, a.Logits);
            double loss = SoftmaxCrossEntropy.Compute(host, labels, model.Config.Heads, s.Batch, dHost);
            ops.CopyFromHost(dLogits, dHost);
            ops.Fill(grads, 0f);
            model.Backward(a, a.Input, dLogits);
            ops.AdamStep(model.Parameters.TrainableWeights, grads, m, v, new AdamSpec(LearningRateAt(s, step), WeightDecay: s.WeightDecay), step);
            smooth = double.IsNaN(smooth) ? loss : 0.95 * smooth + 0.05 * loss;
            onStep?.Invoke(step, smooth);
        }
        return smooth;
    }

    public static float LearningRateAt(ClassifierSettings s, int step)
    {
        int warm = Math.Max(1, s.Steps / 20);
        if (step <= warm) return s.LearningRate * step / warm;
        double t = (double)(step - warm) / Math.Max(1, s.Steps - warm);
        return (float)(s.LearningRate * (0.02 + 0.98 * 0.5 * (1 + Math.Cos(Math.PI * t))));
    }

    /// <summary>Renders a batch of random scenes with their labels; each is augmented with probability <paramref name="augmentShare"/>.</summary>
    public static void Batch(WorldRenderer renderer, Random rng, Span<float> images, Span<int> labels, int count, double augmentShare)
    {
        int numel = renderer.ImageNumel;
        for (int i = 0; i < count; i++)
        {
            var scene = Scene.Sample(rng, renderer.Size);
            var img = images.Slice(i * numel, numel);
            renderer.Render(scene, img);
            if (augmentShare > 0 && rng.NextDouble() < augmentShare) Augment.Apply(img, renderer.Size, rng);
            labels[i * 3] = scene.Shape;
            labels[i * 3 + 1] = scene.Colour;
            labels[i * 3 + 2] = scene.Style;
        }
    }

    /// <summary>Per-head accuracy on <paramref name="count"/> fresh scenes from <paramref name="seed"/>, clean or all augmented.</summary>
    public static HeadAccuracy Evaluate(WorldClassifier model, int count, int seed, bool augmented)
    {
        using var renderer = new WorldRenderer(model.Config.ImageSize);
        var rng = new Random(seed);
        var images = new float[count * renderer.ImageNumel];
        var labels = new int[count * 3];
        Batch(renderer, rng, images, labels, count, augmented ? 1.0 : 0.0);
        var (predicted, _) = model.Classify(images, count);
        return Accuracy(predicted, labels, count);
    }

    public static HeadAccuracy Accuracy(ReadOnlySpan<int> predicted, ReadOnlySpan<int> labels, int count)
    {
        var hits = new int[3];
        for (int i = 0; i < count; i++)
            for (int h = 0; h < 3; h++)
                if (predicted[i * 3 + h] == labels[i * 3 + h]) hits[h]++;
        return new HeadAccuracy((double)hits[0] / count, (double)hits[1] / count, (double)hits[2] / count);
    }
}
