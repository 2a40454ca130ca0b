using Engine.Cpu;
using Engine.Diffusion.Pipelines;
using Engine.Memory;

namespace Engine.Tests.Unlearning;

/// <summary>TextToImage.SampleFinal is the DDIM loop's x0 that Sample decodes: nothing else differs.</summary>
public sealed class FinalSampleTests
{
    [Fact]
    public void SampleIsTheVaeDecodingOfSampleFinal()
    {
        using var pipe = new TextToImage(Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd"), new CpuOps(2));
        var s = new SampleSettings(Steps: 1, GuidanceScale: 3f, Seed: 11, Count: 1);
        var x0 = pipe.SampleFinal("a cat", "", s);
        var image = pipe.Sample("a cat", "", s);
        var (c, h, w) = pipe.FinalShape;
        Assert.Equal(c * h * w, x0.Length);
        var (ic, ih, iw) = pipe.ImageShape;
        Assert.Equal(ic * ih * iw, image.Length);

        using var arena = new NativeArena();
        var z = arena.Alloc(1, c, h, w);
        pipe.Ops.CopyFromHost(z, x0);
        pipe.Ops.Scale(z, z, 1f / pipe.Vae!.Config.ScalingFactor);
        var decoded = pipe.Vae.Decode(pipe.Ops, arena, z);
        var host = new float[decoded.Numel];
        pipe.Ops.CopyToHost(host, decoded);
        Assert.Equal(image, host);
    }
}
