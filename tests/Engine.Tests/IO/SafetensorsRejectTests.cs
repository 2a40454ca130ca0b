using System.Buffers.Binary;
using Engine.IO.Safetensors;

namespace Engine.Tests.IO;

/// <summary>Every kind of broken or hostile file is a SafetensorsException naming the file and the culprit.</summary>
public class SafetensorsRejectTests
{
    private const string Ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    private static SafetensorsException Reject(byte[] file)
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsReader.FromBytes(file, "bad.safetensors").Dispose());
        Assert.Equal("bad.safetensors", e.FilePath);
        Assert.StartsWith("bad.safetensors: ", e.Message);
        return e;
    }

    private static SafetensorsException Reject(string header, int dataBytes) => Reject(SafetensorsTestFiles.Build(header, new byte[dataBytes]));

    [Fact]
    public void Accepts_TheBaseline()
    {
        using var r = SafetensorsReader.FromBytes(SafetensorsTestFiles.Build(Ok, new byte[8]));
        Assert.Single(r.Tensors);
        Assert.Empty(r.Metadata);
    }

    [Fact]
    public void Accepts_EmptyHeaderObject_AndUnpaddedHeader()
    {
        using var r = SafetensorsReader.FromBytes(SafetensorsTestFiles.Build("{}", []));
        Assert.Empty(r.Tensors);
        using var r2 = SafetensorsReader.FromBytes(SafetensorsTestFiles.Build(Ok, new byte[8], pad: false));
        Assert.Single(r2.Tensors);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void ShorterThan8Bytes(int length) => Assert.Contains("shorter than", Reject(new byte[length]).Message);

    [Fact]
    public void HeaderLength_BeyondFile()
    {
        var f = SafetensorsTestFiles.Build(Ok, new byte[8]);
        BinaryPrimitives.WriteUInt64LittleEndian(f, (ulong)f.Length);
        Assert.Contains("past the end", Reject(f).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(f, ulong.MaxValue);
        Assert.Contains("exceeds the limit", Reject(f).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(f, 100_000_001);
        Assert.Contains("exceeds the limit", Reject(f).Message);
    }

    [Fact]
    public void HeaderLength_Over100MB_IsRejectedBeforeReading()
    {
        // A 16-byte file that claims a 200 MB header: rejected from the prefix alone, nothing is allocated.
        var f = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(f, 200_000_000);
        Reject(f);
    }

    [Fact]
    public void InvalidUtf8()
    {
        byte[] f = SafetensorsTestFiles.Build("{\"ab\":{}}", []);
        f[8 + 3] = 0xFF; // inside the name "ab"
        Assert.Contains("UTF-8", Reject(f).Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}")]
    [InlineData("{'a':1}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\" \"shape\":[2]}}")]
    [InlineData("{} {}")]
    [InlineData("{}x")]
    [InlineData("{/*c*/}")]
    [InlineData("{\"a\":{\"dtype\":\"F\\ud800\",\"shape\":[],\"data_offsets\":[0,0]}}")]
    public void InvalidJson(string header) => Reject(header, 0);

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void HeaderNotAnObject(string header) => Assert.Contains("not a JSON object", Reject(header, 0).Message);

    [Fact]
    public void DuplicateTensorName()
    {
        var e = Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        Assert.Equal("a", e.TensorName);
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void DuplicateTensorName_ThroughEscapes()
    {
        // "\u0061" is "a": the same key spelled differently is still a duplicate.
        Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    public void DuplicateFields(string header, string message) => Assert.Contains(message, Reject(header, 8).Message);

    [Theory]
    [InlineData("F31")]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("")]
    [InlineData("F4")]
    public void UnknownDType(string dtype)
    {
        var e = Reject("{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        Assert.Equal("a", e.TensorName);
        Assert.Contains("unknown dtype", e.Message);
    }

    [Theory]
    [InlineData("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "missing field 'dtype'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "missing field 'shape'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "missing field 'data_offsets'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"offsets\":[0,8]}}", "unknown field")]
    [InlineData("{\"a\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", "'dtype' must be a string")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "'shape' must be an array")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":8}}", "'data_offsets' must be an array")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", "found 1")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[]}}", "found 0")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", "found more")]
    [InlineData("{\"a\":[1,2]}", "must be an object")]
    [InlineData("{\"a\":null}", "must be an object")]
    public void MissingOrExtraFields(string header, string message)
    {
        var e = Reject(header, 8);
        Assert.Equal("a", e.TensorName);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("[-2]")]
    [InlineData("[2.0]")]
    [InlineData("[2e0]")]
    [InlineData("[\"2\"]")]
    [InlineData("[null]")]
    [InlineData("[[2]]")]
    [InlineData("[99999999999999999999999]")]
    public void BadDims(string shape)
    {
        var e = Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}", 8);
        Assert.Equal("a", e.TensorName);
        Assert.Contains("shape[0]", e.Message);
    }

    [Theory]
    [InlineData("[4294967296,4294967296]")]
    [InlineData("[9223372036854775807,2]")]
    [InlineData("[3037000500,3037000500]")]
    [InlineData("[2305843009213693952]")] // fits as elements, overflows as F32 bytes
    public void ShapeProductOverflows(string shape) =>
        Assert.Contains("overflows", Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}", 8).Message);

    [Theory]
    [InlineData("[8,0]", 8, "begin is after end")]
    [InlineData("[-1,7]", 8, "non-negative")]
    [InlineData("[0,4]", 8, "needs 8")]
    [InlineData("[0,12]", 12, "needs 8")]
    [InlineData("[4,12]", 12, "hole")]
    [InlineData("[0,8]", 12, "trailing")]
    [InlineData("[0,9223372036854775807]", 8, "needs 8")]
    [InlineData("[9223372036854775800,9223372036854775807]", 8, "needs 8")]
    public void BadOffsets(string offsets, int dataBytes, string message) =>
        Assert.Contains(message, Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}", dataBytes).Message);

    [Fact]
    public void OffsetsPastTheEnd()
    {
        var e = Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        Assert.Equal("a", e.TensorName);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void OverlappingRanges()
    {
        var e = Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        Assert.Equal("b", e.TensorName);
        Assert.Contains("overlap", e.Message);
        // Two tensors on the same bytes.
        Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        // A zero-size tensor inside another one.
        Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8);
    }

    [Fact]
    public void HoleBetweenRanges()
    {
        var e = Reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        Assert.Equal("b", e.TensorName);
        Assert.Contains("hole", e.Message);
    }

    [Fact]
    public void SwappedRanges_AreFine_WhenTheyCoverTheBuffer()
    {
        // Order in the header is free; only coverage matters.
        using var r = SafetensorsReader.FromBytes(SafetensorsTestFiles.Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[8]));
        Assert.Equal(4, r.Info("a").DataBegin);
    }

    [Fact]
    public void TruncatedData()
    {
        byte[] file = SafetensorsTestFiles.MixedFile(5);
        var e = Reject(file[..^3]);
        Assert.Contains("past the end", e.Message);
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"k\":1}}")]
    [InlineData("{\"__metadata__\":{\"k\":null}}")]
    [InlineData("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}")]
    [InlineData("{\"__metadata__\":{\"k\":[\"v\"]}}")]
    [InlineData("{\"__metadata__\":[]}")]
    [InlineData("{\"__metadata__\":\"pt\"}")]
    public void MetadataNotStrings(string header) => Assert.Contains("__metadata__", Reject(header, 0).Message);

    [Fact]
    public void DeepNesting_IsAnErrorNotAStackOverflow()
    {
        string header = "{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        Reject(header, 0);
    }

    [Fact]
    public void MissingFile_AndFolder_NameThePath()
    {
        using var dir = new TempDir();
        string missing = dir.File("none.safetensors");
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsReader.Open(missing));
        Assert.Contains(missing, e.Message);
        Assert.Throws<SafetensorsException>(() => SafetensorsReader.Open(dir.Path));
        string empty = dir.File("empty.safetensors");
        File.WriteAllBytes(empty, []);
        Assert.Contains("shorter than", Assert.Throws<SafetensorsException>(() => SafetensorsReader.Open(empty)).Message);
    }

    [Fact]
    public void HugeStrings_KeepMessagesShort()
    {
        string longName = new('n', 1_000_000);
        var e = Reject("{\"" + longName + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8);
        Assert.True(e.Message.Length < 1000);
        Assert.Equal(longName, e.TensorName);
        var e2 = Reject("{\"a\":{\"dtype\":\"" + longName + "\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        Assert.True(e2.Message.Length < 1000);
    }

    [Fact]
    public void Message_NamesTensor()
    {
        var e = Reject("{\"down.0.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
        Assert.Equal("down.0.weight", e.TensorName);
        Assert.Contains("'down.0.weight'", e.Message);
    }
}
