using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.World.Pretraining;

namespace Engine.Tests.World;

public sealed class PretrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "world-pretrain-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly PretrainSettings Small = new() { Steps = 4, Batch = 2, CheckpointEvery = 2, WarmupSteps = 1 };

    [Fact]
    public void ResumedRunEndsBitIdenticalToAnUninterruptedOne()
    {
        var ops = new CpuOps(2);
        string straight = Path.Combine(_dir, "a"), split = Path.Combine(_dir, "b");
        using (var t = new WorldPretrainer(ops, Small, straight, Path.Combine(straight, "model")))
        {
            var losses = new List<float>();
            t.Train(r => losses.Add(r.Loss), CancellationToken.None);
            Assert.Equal(4, losses.Count);
            Assert.All(losses, l => Assert.True(float.IsFinite(l) && l > 0));
        }
        // Stopped as Ctrl-C stops it: after step 2, with a checkpoint.
        using (var t = new WorldPretrainer(ops, Small, split, Path.Combine(split, "model")))
        {
            using var stop = new CancellationTokenSource();
            t.Train(r => { if (r.Step == 2) stop.Cancel(); }, stop.Token);
        }
        using (var t = new WorldPretrainer(ops, Small, split, Path.Combine(split, "model")))
        {
            Assert.True(t.TryResume());
            Assert.Equal(2, t.Step);
            t.Train(_ => { }, CancellationToken.None);
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "checkpoint.safetensors")), File.ReadAllBytes(Path.Combine(split, "checkpoint.safetensors")));

        // The export is a model folder the ordinary pipeline samples from.
        using var pipe = new TextToImage(Path.Combine(straight, "model"), ops);
        var image = pipe.Sample("a red star", "", new SampleSettings(Steps: 2, GuidanceScale: 3f, Count: 1));
        Assert.Equal(3 * 32 * 32, image.Length);
        Assert.All(image, v => Assert.True(v is >= -1f and <= 1f));
    }
}
