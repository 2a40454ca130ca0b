using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Nn;
using Engine.Tensors;

namespace Engine.Tests.Loading;

/// <summary>The squeeze rule the VAE needs: LDM's [C, C, 1, 1] attention weights load into [C, C] parameters only where allowed.</summary>
public class WeightLoaderTests
{
    private static SafetensorsReader File4D(float[] values)
    {
        var w = new SafetensorsWriter();
        w.Add("to_q.weight", values, [3, 3, 1, 1]);
        w.Add("to_q.bias", [1f, 2f, 3f], [3]);
        string path = Path.Combine(Path.GetTempPath(), $"squeeze-{Guid.NewGuid():N}.safetensors");
        w.Save(path);
        var bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.Delete(path);
        return SafetensorsReader.FromBytes(bytes, "squeeze");
    }

    private static ParameterStore Store(NativeArena arena) =>
        new(new ParameterLayout([("to_q.weight", new Shape(3, 3)), ("to_q.bias", new Shape(3))], _ => false), arena);

    [Fact]
    public void TrailingOnes_LoadWhereSqueezable()
    {
        var values = Enumerable.Range(0, 9).Select(i => i * 0.5f).ToArray();
        using var file = File4D(values);
        using var arena = new NativeArena();
        var store = Store(arena);
        WeightLoader.Load(store, [file], n => n, "vae", squeezable: n => n == "to_q.weight");
        Assert.Equal(values, store.Weight("to_q.weight").AsSpan().ToArray());
        Assert.Equal([1f, 2f, 3f], store.Weight("to_q.bias").AsSpan().ToArray());
    }

    [Fact]
    public void TrailingOnes_MismatchOtherwise()
    {
        using var file = File4D(new float[9]);
        using var arena = new NativeArena();
        var ex = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(Store(arena), [file], n => n, "vae"));
        Assert.Contains("to_q.weight: file has [3, 3, 1, 1], model expects", ex.Message);
        Assert.Null(WeightLoader.Diagnose(Store(arena), [file], n => n, "vae", squeezable: n => n == "to_q.weight"));
    }
}
