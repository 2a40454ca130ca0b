using Engine.Cpu;
using Engine.World;
using Engine.World.Classifier;

namespace Engine.Tests.World;

public class ClassifierTests
{
    private static readonly int[] Heads = [3, 4, 2];

    [Fact]
    public void SoftmaxCrossEntropy_GradientMatchesFiniteDifferences()
    {
        int batch = 3, width = Heads.Sum();
        var rng = new Random(5);
        var logits = Enumerable.Range(0, batch * width).Select(_ => (float)(3 * rng.NextDouble() - 1.5)).ToArray();
        int[] labels = [0, 3, 1, 2, 0, 0, 1, 1, 1];
        var d = new float[logits.Length];
        double loss = SoftmaxCrossEntropy.Compute(logits, labels, Heads, batch, d);
        Assert.True(loss > 0);
        const double h = 1e-3;
        for (int i = 0; i < logits.Length; i++)
        {
            var plus = (float[])logits.Clone();
            var minus = (float[])logits.Clone();
            plus[i] += (float)h;
            minus[i] -= (float)h;
            double fd = (SoftmaxCrossEntropy.Compute(plus, labels, Heads, batch, default) - SoftmaxCrossEntropy.Compute(minus, labels, Heads, batch, default)) / (2 * h);
            Assert.Equal(fd, d[i], 3);
        }
        // Uniform logits: each head contributes log(size).
        Assert.Equal(Math.Log(3) + Math.Log(4) + Math.Log(2), SoftmaxCrossEntropy.Compute(new float[width], [1, 1, 1], Heads, 1, default), 6);
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute(logits, [0, 9, 0, 0, 0, 0, 0, 0, 0], Heads, batch, default));
    }

    private static ClassifierConfig Small => new() { Channels = [8, 16], NormGroups = 4, Features = 16 };

    [Fact]
    public void Forward_Backward_Shapes_AndLossDecreasesOnAFixedBatch()
    {
        var ops = new CpuOps(2);
        using var model = new WorldClassifier(Small, ops, trainable: true);
        model.Initialize(3);
        int batch = 8;
        using var a = model.Activations(batch);
        using var renderer = new WorldRenderer(32);
        var images = new float[batch * renderer.ImageNumel];
        var labels = new int[batch * 3];
        ClassifierTrainer.Batch(renderer, new Random(1), images, labels, batch, augmentShare: 0.5);
        ops.CopyFromHost(a.Input, images);
        using var arena = new Engine.Memory.NativeArena();
        var m = arena.Alloc(model.Parameters.Grads.Shape);
        var v = arena.Alloc(model.Parameters.Grads.Shape);
        var dLogits = arena.Alloc(a.Logits.Shape);
        var host = new float[a.Logits.Numel];
        var dHost = new float[a.Logits.Numel];
        var losses = new List<double>();
        for (int step = 1; step <= 12; step++)
        {
            var logits = model.Forward(a, a.Input);
            Assert.Equal(new Engine.Tensors.Shape(batch, 20), logits.Shape);
            ops.CopyToHost(host, logits);
            losses.Add(SoftmaxCrossEntropy.Compute(host, labels, model.Config.Heads, batch, dHost));
            ops.CopyFromHost(dLogits, dHost);
            ops.Fill(model.Parameters.Grads, 0f);
            model.Backward(a, a.Input, dLogits);
            ops.AdamStep(model.Parameters.TrainableWeights, model.Parameters.Grads, m, v, new Engine.Ops.AdamSpec(3e-3f), step);
        }
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^1] < 0.7 * losses[0], $"loss {losses[0]:F3} → {losses[^1]:F3}");
        var (predicted, features) = model.Classify(images, batch, features: true, chunk: 3);
        Assert.Equal(batch * 3, predicted.Length);
        Assert.Equal(batch * 16, features!.Length);
    }

    [Fact]
    public void ShippedClassifier_ReadsFreshRenders()
    {
        string? dir = WorldClassifier.FindShipped(AppContext.BaseDirectory);
        Assert.True(dir is not null, "models/classifier not found above " + AppContext.BaseDirectory);
        using var model = WorldClassifier.Load(dir!, new CpuOps(2));
        var acc = ClassifierTrainer.Evaluate(model, 200, seed: 424242, augmented: false);
        Assert.True(acc.Shape >= 0.9 && acc.Colour >= 0.9 && acc.Style >= 0.9, acc.ToString());
    }
}
