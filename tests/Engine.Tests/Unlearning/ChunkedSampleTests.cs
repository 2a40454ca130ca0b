using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.Tests.Testing;

namespace Engine.Tests.Unlearning;

/// <summary>
/// TextToImage with <see cref="SampleSettings.MaxBatch"/>: the images go through the UNet in chunks, and the result is
/// the one-batch call's, bit for bit (starting noise and eta noise drawn at the one-batch layout's offsets, and a UNet
/// whose forward does not depend on what else is in its batch).
/// </summary>
public sealed class ChunkedSampleTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");
    private readonly TextToImage _pipe = new(Fixture, new CpuOps(2));

    public void Dispose() => _pipe.Dispose();

    // 5 images in chunks of 2 (2, 2, 1); 3 steps so that eta's noise enters twice (the last DDIM step adds none).
    private static readonly SampleSettings Five = new(Steps: 3, GuidanceScale: 3f, Seed: 11, Count: 5);

    [Theory]
    [InlineData(0f)]
    [InlineData(0.8f)]
    public void SampleFinal_InChunks_IsBitwiseTheOneBatchCall(float eta)
    {
        var s = Five with { Eta = eta };
        var whole = _pipe.SampleFinal("a cat", "blurry", s);
        var steps = new List<(int Done, int Total)>();
        var chunked = _pipe.SampleFinal("a cat", "blurry", s with { MaxBatch = 2 }, (done, total) => steps.Add((done, total)));
        Close.Bitwise($"eta {eta}: 5 images at once vs in chunks of 2", whole, chunked);
        Close.Bitwise($"eta {eta}: 5 images at once vs one at a time", whole, _pipe.SampleFinal("a cat", "blurry", s with { MaxBatch = 1 }));
        // Three chunks of three DDIM steps, reported as one count.
        Assert.Equal(Enumerable.Range(1, 9).Select(i => (i, 9)), steps);
        // The images differ from each other, and eta's noise reaches them (so the eta case tests its offsets).
        int size = whole.Length / 5;
        Assert.False(whole.AsSpan(0, size).SequenceEqual(whole.AsSpan(4 * size, size)));
        if (eta > 0) Assert.False(whole.AsSpan().SequenceEqual(_pipe.SampleFinal("a cat", "blurry", Five)));
    }

    [Fact]
    public void Sample_InChunks_DecodesToTheSameImages()
    {
        var s = Five with { Steps = 2, Count = 3 };
        Close.Bitwise("3 decoded images at once vs in chunks of 2", _pipe.Sample("a cat", "", s), _pipe.Sample("a cat", "", s with { MaxBatch = 2 }));
    }

    [Fact]
    public void MaxBatch_AtOrAboveTheCount_IsOneCall_AndNegativeThrows()
    {
        var s = Five with { Steps = 1, Count = 2 };
        var steps = new List<(int, int)>();
        _pipe.SampleFinal("a cat", "", s with { MaxBatch = 8 }, (done, total) => steps.Add((done, total)));
        Assert.Equal([(1, 1)], steps);
        Assert.Throws<ArgumentException>(() => _pipe.SampleFinal("a cat", "", s with { MaxBatch = -1 }));
    }
}
