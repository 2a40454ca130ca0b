using System.Buffers.Binary;
using System.Text;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Tests.IO;

public class SafetensorsRoundTripTests
{
    [Fact]
    public void F32_RoundTrip_IsExact_AndZeroCopy()
    {
        using var dir = new TempDir();
        using var arena = new NativeArena();
        var rng = new System.Random(1);
        var t = arena.Alloc(3, 5, 7);
        SafetensorsTestFiles.RandomFloats(rng, 105).CopyTo(t.AsSpan());
        var w = new SafetensorsWriter();
        w.Add("x", t);
        w.Add("y", [1f, float.NaN, float.PositiveInfinity, -0f], [2, 2]);
        string path = dir.File("a.safetensors");
        w.Save(path);

        using var r = SafetensorsReader.Open(path);
        var view = r.F32View("x");
        Assert.Equal(new Shape(3, 5, 7), view.Shape);
        Assert.True(view.AsSpan().SequenceEqual(t.AsSpan()));
        Assert.Equal(r.Address("x"), view.Ptr); // points into the mapping, no copy
        var y = r.F32Span("y").ToArray();
        Assert.Equal(1f, y[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(float.PositiveInfinity, y[2]);
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(y[3]));
        var loaded = r.LoadF32("x", arena);
        Assert.True(loaded.AsSpan().SequenceEqual(t.AsSpan()));
    }

    [Fact]
    public void ZeroCopyView_IsCopyOnWrite_FileUnchanged()
    {
        using var dir = new TempDir();
        string path = dir.File("cow.safetensors");
        var w = new SafetensorsWriter();
        w.Add("x", [1f, 2f], [2]);
        w.Save(path);
        byte[] before = File.ReadAllBytes(path);
        using (var r = SafetensorsReader.Open(path))
        {
            var v = r.F32View("x");
            v.AsSpan()[0] = 99f;
            Assert.Equal(99f, r.F32Span("x")[0]);
        }
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void F16_And_BF16_RoundTrip_RoundToNearestEven()
    {
        // Ties: 1 + 2^-11 lies halfway between F16 neighbours 1 and 1 + 2^-10 -> even (1);
        // 1 + 3*2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9 -> even (1 + 2^-9).
        float[] f16In = [1f + MathF.Pow(2, -11), 1f + 3 * MathF.Pow(2, -11), 1f + 1.5f * MathF.Pow(2, -11), 65504f, 1e6f, -2.5f, 6e-8f];
        float[] f16Want = [1f, 1f + MathF.Pow(2, -9), 1f + MathF.Pow(2, -10), 65504f, float.PositiveInfinity, -2.5f, (float)Half.Epsilon];
        // BF16 keeps 8 significand bits: same pattern at 2^-8 / 2^-7.
        float[] bfIn = [1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), 1f + 1.5f * MathF.Pow(2, -8), float.NaN, float.NegativeInfinity, float.MaxValue];
        float[] bfWant = [1f, 1f + MathF.Pow(2, -6), 1f + MathF.Pow(2, -7), float.NaN, float.NegativeInfinity, float.PositiveInfinity];
        using var dir = new TempDir();
        string path = dir.File("h.safetensors");
        var w = new SafetensorsWriter();
        w.Add("h", f16In, [f16In.Length], SafetensorsDType.F16);
        w.Add("b", bfIn, [bfIn.Length], SafetensorsDType.BF16);
        w.Save(path);

        using var r = SafetensorsReader.Open(path);
        Assert.Equal(SafetensorsDType.F16, r.Info("h").DType);
        Assert.Equal(SafetensorsDType.BF16, r.Info("b").DType);
        var h = new float[f16In.Length];
        r.ReadF32("h", h);
        Assert.Equal(f16Want, h);
        var b = new float[bfIn.Length];
        r.ReadF32("b", b);
        Assert.Equal(bfWant, b);
        Assert.Throws<SafetensorsException>(() => r.F32View("h")); // no silent reinterpretation
    }

    [Fact]
    public void BF16_Rounding_MatchesDoubleReference()
    {
        var rng = new System.Random(7);
        for (int i = 0; i < 20000; i++)
        {
            float f = BitConverter.Int32BitsToSingle(rng.Next() & 0x7F7F_FFFF); // finite, positive
            uint lo = BitConverter.SingleToUInt32Bits(f) & 0xFFFF_0000;
            double dLo = BitConverter.UInt32BitsToSingle(lo), dHi = BitConverter.UInt32BitsToSingle(lo + 0x10000);
            double errLo = f - dLo, errHi = dHi - f;
            uint want = errLo < errHi ? lo : errLo > errHi ? lo + 0x10000 : ((lo >> 16) & 1) == 0 ? lo : lo + 0x10000;
            Assert.Equal(want >> 16, FloatConvert.ToBF16(f));
        }
    }

    [Fact]
    public void Integers_I64ToI32_WithRangeCheck()
    {
        using var dir = new TempDir();
        using var arena = new NativeArena();
        string path = dir.File("i.safetensors");
        var w = new SafetensorsWriter();
        w.AddRaw("ok", SafetensorsDType.I64, [2, 2], SafetensorsTestFiles.Bytes<long>([int.MinValue, -1, 0, int.MaxValue]));
        w.AddRaw("big", SafetensorsDType.I64, [3], SafetensorsTestFiles.Bytes<long>([0, 1, (long)int.MaxValue + 1]));
        w.AddRaw("u64", SafetensorsDType.U64, [1], SafetensorsTestFiles.Bytes<ulong>([ulong.MaxValue]));
        w.AddRaw("u8", SafetensorsDType.U8, [3], [0, 200, 255]);
        w.AddRaw("i8", SafetensorsDType.I8, [2], [0xFF, 0x7F]);
        w.AddRaw("i16", SafetensorsDType.I16, [2], SafetensorsTestFiles.Bytes<short>([-300, 300]));
        w.AddRaw("mask", SafetensorsDType.BOOL, [2], [1, 0]);
        var ids = arena.Alloc(new Shape(3), DType.I32);
        ids.AsIntSpan()[0] = 7;
        ids.AsIntSpan()[1] = -8;
        ids.AsIntSpan()[2] = 9;
        w.Add("ids64", ids, SafetensorsDType.I64);
        w.Add("ids32", ids, SafetensorsDType.I32);
        w.Save(path);

        using var r = SafetensorsReader.Open(path);
        Assert.Equal([int.MinValue, -1, 0, int.MaxValue], r.LoadI32("ok", arena).AsIntSpan().ToArray());
        Assert.Equal(new Shape(2, 2), r.LoadI32("ok", arena).Shape);
        var e = Assert.Throws<SafetensorsException>(() => r.ReadI32("big", new int[3]));
        Assert.Equal("big", e.TensorName);
        Assert.Contains("element 2", e.Message);
        Assert.Throws<SafetensorsException>(() => r.ReadI32("u64", new int[1]));
        Assert.Equal([0, 200, 255], Read(r, "u8"));
        Assert.Equal([-1, 127], Read(r, "i8"));
        Assert.Equal([-300, 300], Read(r, "i16"));
        Assert.Equal([1, 0], Read(r, "mask"));
        Assert.Equal([7, -8, 9], Read(r, "ids64"));
        Assert.Equal([7, -8, 9], Read(r, "ids32"));
        Assert.Equal(SafetensorsDType.I64, r.Info("ids64").DType);
        Assert.Equal(SafetensorsTestFiles.Bytes<long>([7, -8, 9]), r.RawBytes("ids64").ToArray());
        Assert.Throws<SafetensorsException>(() => r.ReadF32("ok", new float[4]));
        Assert.Throws<SafetensorsException>(() => r.Info("nope"));
        Assert.Throws<ArgumentException>(() => r.ReadI32("ok", new int[3]));
    }

    private static int[] Read(SafetensorsReader r, string name)
    {
        var a = new int[r.Info(name).Numel];
        r.ReadI32(name, a);
        return a;
    }

    [Fact]
    public void F64_IsConvertedToF32()
    {
        using var dir = new TempDir();
        string path = dir.File("d.safetensors");
        var w = new SafetensorsWriter();
        w.AddRaw("d", SafetensorsDType.F64, [3], SafetensorsTestFiles.Bytes<double>([0.1, -1e300, 1.0 + 1e-12]));
        w.Save(path);
        using var r = SafetensorsReader.Open(path);
        var f = new float[3];
        r.ReadF32("d", f);
        Assert.Equal([0.1f, float.NegativeInfinity, 1f], f);
    }

    [Fact]
    public void Metadata_Order_Alignment_Layout()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        var w = new SafetensorsWriter();
        w.Metadata["format"] = "pt";
        w.Metadata["émoji ✓"] = "quote \" and \\ and\nnewline";
        w.Add("zeta", [1f], [1]);
        w.Add("alpha", [2f, 3f, 4f], [3], SafetensorsDType.F16);
        w.Add("Beta", [5f], []);
        w.Save(path);

        byte[] file = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, n % 8);
        string json = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.True(json.TrimEnd(' ').EndsWith('}'));
        // Tensors in ordinal name order, packed from 0.
        Assert.True(json.IndexOf("\"Beta\"", StringComparison.Ordinal) < json.IndexOf("\"alpha\"", StringComparison.Ordinal));
        Assert.True(json.IndexOf("\"alpha\"", StringComparison.Ordinal) < json.IndexOf("\"zeta\"", StringComparison.Ordinal));

        using var r = SafetensorsReader.Open(path);
        Assert.Equal(["Beta", "alpha", "zeta"], r.Tensors.Select(t => t.Name));
        Assert.Equal([(0L, 4L), (4L, 10L), (10L, 14L)], r.Tensors.Select(t => (t.DataBegin, t.DataEnd)));
        Assert.Equal(8 + n, r.Header.DataStart);
        Assert.Equal(0, r.Tensors[0].Rank);
        Assert.Equal(1, r.Tensors[0].Numel);
        Assert.Equal(5f, r.F32Span("Beta")[0]);
        Assert.True(r.Info("alpha").IsAligned);
        Assert.False(r.Info("zeta").IsAligned); // F32 at offset 10, after 3 F16 values: name order, not alignment order
        Assert.Equal(1f, r.F32Span("zeta")[0]);
        Assert.Equal("pt", r.Metadata["format"]);
        Assert.Equal("quote \" and \\ and\nnewline", r.Metadata["émoji ✓"]);
    }

    [Fact]
    public void Writer_MatchesReferenceLayout()
    {
        // The format's own example: one F32 [1, 2, 3] tensor "attn.0" gives a 64-byte header, no padding needed.
        using var dir = new TempDir();
        string path = dir.File("ref.safetensors");
        var w = new SafetensorsWriter();
        w.Add("attn.0", [0f, 1f, 2f, 3f, 4f, 5f], [1, 2, 3]);
        w.Save(path);
        var want = SafetensorsTestFiles.Build("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
            SafetensorsTestFiles.Bytes<float>([0f, 1f, 2f, 3f, 4f, 5f]));
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(want));
        Assert.Equal(want, File.ReadAllBytes(path));
    }

    [Fact]
    public void Writer_ReproducesFixtureByteForByte()
    {
        // Read every tensor of the real text encoder and write it back: same bytes (name order, compact JSON,
        // metadata last, space padding) as the Python tooling produced.
        string src = SafetensorsTestFiles.TinySd("text_encoder", "model.safetensors");
        using var dir = new TempDir();
        string dst = dir.File("copy.safetensors");
        using (var r = SafetensorsReader.Open(src))
        {
            var w = new SafetensorsWriter();
            foreach (var (k, v) in r.Metadata) w.Metadata[k] = v;
            foreach (var t in r.Tensors) w.Add(t.Name, r.F32View(t.Name));
            w.Save(dst);
        }
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(dst));
    }

    [Fact]
    public void Save_IsAtomic_NoTempFileLeft_OverwritesExisting()
    {
        using var dir = new TempDir();
        string path = dir.File("w.safetensors");
        File.WriteAllText(path, "old content");
        var w = new SafetensorsWriter();
        w.Add("x", [1f, 2f], [2]);
        w.Save(path);
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using var r = SafetensorsReader.Open(path);
        Assert.Equal([1f, 2f], r.F32Span("x").ToArray());
    }

    [Fact]
    public void Save_FailureMidWrite_LeavesNoFile_AndKeepsOldOne()
    {
        using var dir = new TempDir();
        var w = new SafetensorsWriter();
        w.Add("a", [1f], [1]);
        w.Add("b", [2f], [1]);
        w.BeforeTensorData = name => { if (name == "b") throw new IOException("disk full (simulated)"); };

        string fresh = dir.File("fresh.safetensors");
        var e = Assert.Throws<SafetensorsException>(() => w.Save(fresh));
        Assert.Contains("fresh.safetensors", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        string existing = dir.File("existing.safetensors");
        File.WriteAllText(existing, "keep me");
        Assert.Throws<SafetensorsException>(() => w.Save(existing));
        Assert.Equal("keep me", File.ReadAllText(existing));
        Assert.Equal([existing], Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Save_RenameFailure_DeletesTemp()
    {
        using var dir = new TempDir();
        string target = dir.File("is-a-folder");
        Directory.CreateDirectory(target);
        var w = new SafetensorsWriter();
        w.Add("a", [1f], [1]);
        Assert.Throws<SafetensorsException>(() => w.Save(target));
        Assert.Equal([target], Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Writer_RejectsBadInput()
    {
        var w = new SafetensorsWriter();
        w.Add("a", [1f], [1]);
        Assert.Throws<ArgumentException>(() => w.Add("a", [1f], [1]));
        Assert.Throws<ArgumentException>(() => w.Add("__metadata__", [1f], [1]));
        Assert.Throws<ArgumentException>(() => w.Add("c", [1f, 2f], [3]));
        Assert.Throws<ArgumentException>(() => w.Add("d", [1f], [1], SafetensorsDType.I64));
        Assert.Throws<ArgumentException>(() => w.AddRaw("e", SafetensorsDType.I64, [2], new byte[8]));
        Assert.Throws<ArgumentException>(() => w.AddRaw("f", SafetensorsDType.U8, [-1], []));
        Assert.Throws<ArgumentException>(() => w.Add("g", Tensor.None));
    }

    [Fact]
    public void FromBytes_ReadsTheSameAsOpen()
    {
        byte[] file = SafetensorsTestFiles.MixedFile(3);
        using var r = SafetensorsReader.FromBytes(file, "mixed");
        Assert.Equal(8, r.Tensors.Count);
        Assert.Equal("mixed dtypes", r.Metadata["note"]);
        Assert.Equal(SafetensorsDType.F16, r.Info("b.half").DType);
        Assert.Equal(0, r.Info("g.empty").Numel);
        Assert.Equal(42, Read(r, "h.scalar")[0]);
        Assert.Equal([1, 49406, 320, -7, 0], Read(r, "d.ids"));
    }

    [Fact]
    public void Dispose_ThenUse_Throws()
    {
        var r = SafetensorsReader.FromBytes(SafetensorsTestFiles.MixedFile(4));
        r.Dispose();
        r.Dispose();
        Assert.Throws<ObjectDisposedException>(() => r.Info("a.weight"));
    }
}
