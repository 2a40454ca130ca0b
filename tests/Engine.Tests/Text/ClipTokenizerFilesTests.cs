using Engine.Models.Text;

namespace Engine.Tests.Text;

/// <summary>Loading tokenizer folders: missing or broken files fail with the file's path; the config is honoured.</summary>
public sealed class ClipTokenizerFilesTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("clip-tok-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // A five-symbol vocabulary: enough for "ab", "ba" and the special tokens.
    const string Vocab = """{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}""";
    const string Merges = "#version: 0.2\na b</w>\n";

    string Write(string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void SmallFolder_LoadsAndEncodes()
    {
        Write("vocab.json", Vocab);
        Write("merges.txt", Merges);
        var tok = ClipTokenizer.FromDirectory(dir);
        Assert.Equal((5, 6, 6, 6, 77), (tok.BosId, tok.EosId, tok.PadId, tok.UnkId, tok.ModelMaxLength));
        Assert.Equal([5, 4, 1, 2, 6], tok.EncodeUntruncated("ab ba"));
        Assert.Equal([5, 6, 6], tok.EncodeUntruncated("c")); // "c</w>" is not in the vocabulary: the unknown token
    }

    [Fact]
    public void Config_SetsMaxLengthAndSpecialTokens()
    {
        Write("vocab.json", Vocab);
        Write("merges.txt", Merges);
        Write("tokenizer_config.json", """{"model_max_length": 6, "pad_token": "a</w>"}""");
        Write("special_tokens_map.json", """{"bos_token": {"content": "<|startoftext|>", "lstrip": false}, "unk_token": "b</w>"}""");
        var tok = ClipTokenizer.FromDirectory(dir);
        Assert.Equal((5, 6, 2, 3, 6), (tok.BosId, tok.EosId, tok.PadId, tok.UnkId, tok.ModelMaxLength));
        Assert.Equal([5, 4, 6, 2, 2, 2], tok.Encode("ab").Ids);
        Assert.Equal([5, 3, 6], tok.EncodeUntruncated("c"));
    }

    [Fact]
    public void MissingFolder_Throws() =>
        Assert.Contains("nope", Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromDirectory(Path.Combine(dir, "nope"))).Message);

    [Fact]
    public void MissingVocab_ThrowsNamingIt()
    {
        Write("merges.txt", Merges);
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Equal(Path.Combine(dir, "vocab.json"), e.FileName);
        Assert.Contains("vocab.json", e.Message);
    }

    [Fact]
    public void MissingMerges_ThrowsNamingIt()
    {
        Write("vocab.json", Vocab);
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Equal(Path.Combine(dir, "merges.txt"), e.FileName);
    }

    [Theory]
    [InlineData("{\"a\": 0,")]           // truncated JSON
    [InlineData("[\"a\", \"b\"]")]       // not an object
    [InlineData("{\"a\": \"zero\"}")]    // id not a number
    [InlineData("{\"a\": -1}")]
    [InlineData("{}")]
    public void BrokenVocab_ThrowsNamingIt(string vocab)
    {
        string path = Write("vocab.json", vocab);
        Write("merges.txt", Merges);
        Assert.StartsWith(path, Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromDirectory(dir)).Message);
    }

    [Theory]
    [InlineData("", "#version")]
    [InlineData("a b\n", "#version")]
    [InlineData("#version: 0.2\na b\nc d e\n", "line 3")]
    [InlineData("#version: 0.2\na\n", "line 2")]
    public void BrokenMerges_ThrowsNamingIt(string merges, string detail)
    {
        Write("vocab.json", Vocab);
        string path = Write("merges.txt", merges);
        string message = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromDirectory(dir)).Message;
        Assert.StartsWith(path, message);
        Assert.Contains(detail, message);
    }

    [Fact]
    public void SpecialTokenMissingFromVocab_ThrowsNamingVocab()
    {
        string path = Write("vocab.json", """{"a": 0, "<|startoftext|>": 1}""");
        Write("merges.txt", Merges);
        string message = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromDirectory(dir)).Message;
        Assert.StartsWith(path, message);
        Assert.Contains("<|endoftext|>", message);
    }

    [Theory]
    [InlineData("tokenizer_config.json", "{oops")]
    [InlineData("tokenizer_config.json", """{"model_max_length": "long"}""")]
    [InlineData("special_tokens_map.json", """{"eos_token": 7}""")]
    public void BrokenConfig_ThrowsNamingIt(string file, string text)
    {
        Write("vocab.json", Vocab);
        Write("merges.txt", Merges);
        string path = Write(file, text);
        Assert.StartsWith(path, Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromDirectory(dir)).Message);
    }
}
