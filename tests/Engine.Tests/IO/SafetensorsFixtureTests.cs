using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Tests.IO;

/// <summary>The real tiny-sd fixture files (written by the Python tooling) read as documented in their README.</summary>
public class SafetensorsFixtureTests
{
    [Theory]
    [InlineData("unet/diffusion_pytorch_model.safetensors", 304, 1_427_012)]
    [InlineData("text_encoder/model.safetensors", 84, 68_473)]
    [InlineData("vae/diffusion_pytorch_model.safetensors", -1, 658_375)]
    public void ModelFiles_ParameterCounts(string file, int tensors, long parameters)
    {
        using var r = SafetensorsReader.Open(SafetensorsTestFiles.TinySd(file.Split('/')));
        if (tensors >= 0) Assert.Equal(tensors, r.Tensors.Count);
        Assert.Equal(parameters, r.Tensors.Sum(t => t.Numel));
        Assert.All(r.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
        Assert.Equal("pt", r.Metadata["format"]);
        // Name order, and stored in name order.
        var names = r.Tensors.Select(t => t.Name).ToArray();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        for (int i = 1; i < r.Tensors.Count; i++) Assert.Equal(r.Tensors[i - 1].DataEnd, r.Tensors[i].DataBegin);
        Assert.All(r.Tensors, t => Assert.True(t.IsAligned));
    }

    [Fact]
    public void Unet_ConvIn_ViewAndCopyAgree()
    {
        using var r = SafetensorsReader.Open(SafetensorsTestFiles.UnetFile);
        using var arena = new NativeArena();
        var info = r.Info("conv_in.weight");
        Assert.Equal([32L, 4, 3, 3], info.Shape);
        Assert.Equal(new Shape(32, 4, 3, 3), r.F32View("conv_in.weight").Shape);
        var copy = r.LoadF32("conv_in.weight", arena);
        Assert.True(copy.AsSpan().SequenceEqual(r.F32Span("conv_in.weight")));
        Assert.Contains(copy.AsSpan().ToArray(), v => v != 0);
        Assert.All(copy.AsSpan().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Cases_I64Ids_ConvertToI32()
    {
        using var r = SafetensorsReader.Open(SafetensorsTestFiles.TinySd("cases.safetensors"));
        using var arena = new NativeArena();
        Assert.Equal(SafetensorsDType.I64, r.Info("text.input_ids").DType);
        var ids = r.LoadI32("text.input_ids", arena);
        Assert.Equal(new Shape(3, 77), ids.Shape);
        Assert.Equal(998, ids.AsIntSpan()[0]); // BOS of the cut vocabulary
        Assert.All(ids.AsIntSpan().ToArray(), v => Assert.InRange(v, 0, 999));

        var steps = new int[20];
        r.ReadI32("ddim.timesteps_20", steps);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 951 - 50 * i), steps);
        var t = new int[2];
        r.ReadI32("unet.timesteps", t);
        Assert.Equal([10, 700], t);
        Assert.Equal(1000, r.F32Span("sched.alphas_cumprod").Length);
        Assert.Equal(0.99915f, r.F32Span("sched.alphas_cumprod")[0], 1e-6f);
    }
}
