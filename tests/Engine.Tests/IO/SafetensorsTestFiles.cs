using System.Buffers.Binary;
using System.Text;
using Engine.IO.Safetensors;

namespace Engine.Tests.IO;

/// <summary>Fixture paths, a scratch folder, and hand-made files for the safetensors tests.</summary>
internal static class SafetensorsTestFiles
{
    public static string Fixture(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "fixtures", .. parts]);

    public static string TinySd(params string[] parts) => Fixture(["tiny-sd", .. parts]);

    public static string UnetFile => TinySd("unet", "diffusion_pytorch_model.safetensors");

    /// <summary>u64 length | header JSON (padded with spaces to 8 unless told) | data.</summary>
    public static byte[] Build(string headerJson, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(headerJson).ToList();
        while (pad && header.Count % 8 != 0) header.Add((byte)' ');
        var file = new byte[8 + header.Count + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Count);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Count);
        return file;
    }

    /// <summary>A small valid file in memory with tensors of several dtypes, written by our writer.</summary>
    public static byte[] MixedFile(int seed)
    {
        var rng = new System.Random(seed);
        var w = new SafetensorsWriter();
        w.Metadata["format"] = "pt";
        w.Metadata["note"] = "mixed dtypes";
        w.Add("a.weight", RandomFloats(rng, 24), [2, 3, 4]);
        w.Add("b.half", RandomFloats(rng, 7), [7], SafetensorsDType.F16);
        w.Add("c.bf16", RandomFloats(rng, 6), [3, 2], SafetensorsDType.BF16);
        w.AddRaw("d.ids", SafetensorsDType.I64, [5], Bytes<long>([1, 49406, 320, -7, 0]));
        w.AddRaw("e.mask", SafetensorsDType.BOOL, [3], [1, 0, 1]);
        w.AddRaw("f.double", SafetensorsDType.F64, [2], Bytes<double>([0.5, -1e300]));
        w.AddRaw("g.empty", SafetensorsDType.F32, [0, 4], []);
        w.AddRaw("h.scalar", SafetensorsDType.I32, [], Bytes<int>([42]));
        using var dir = new TempDir();
        string path = dir.File("mixed.safetensors");
        w.Save(path);
        return File.ReadAllBytes(path);
    }

    public static float[] RandomFloats(System.Random rng, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();

    public static byte[] Bytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

/// <summary>A fresh folder under the temp directory, deleted on Dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "doco-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
