using System.Text.Json;
using Engine.Tests.Text;

namespace Engine.Tests.Cli;

/// <summary><c>doco tokenize</c>, run in-process with captured output.</summary>
public class TokenizeCommandTests
{
    static (int Exit, string Out, string Err) Run(params string[] args) => Doco.Run(["tokenize", .. args]);

    [Fact]
    public void Text_PrintsIdsAndTokensPerPrompt()
    {
        TokenizerCase[] cases = TokenizerFixtures.ClipCases;
        var (exit, output, err) = Run("--tokenizer", TokenizerFixtures.ClipDir, cases[0].Prompt, cases[2].Prompt);
        Assert.Equal(0, exit);
        Assert.Equal("", err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal(string.Join(' ', cases[0].InputIds), lines[0]);
        Assert.Equal("  " + string.Join(' ', cases[0].Tokens) + " (+70 padding)", lines[1]);
        Assert.Equal(string.Join(' ', cases[2].InputIds), lines[2]);
    }

    [Fact]
    public void Json_PrintsPromptIdsTokens()
    {
        TokenizerCase c = TokenizerFixtures.TinyCases[1];
        var (exit, output, _) = Run("--json", "--max-length", "12", "--tokenizer", TokenizerFixtures.TinyDir, c.Prompt, "");
        Assert.Equal(0, exit);
        JsonElement[] items = [.. JsonDocument.Parse(output).RootElement.EnumerateArray()];
        Assert.Equal(2, items.Length);
        Assert.Equal(c.Prompt, items[0].GetProperty("prompt").GetString());
        int[] ids = [.. items[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal([.. c.UntruncatedIds.Take(11), 999], ids); // cut to 12, EOS kept
        Assert.Equal([.. c.Tokens.Take(11), "<|endoftext|>"], items[0].GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal([998, .. Enumerable.Repeat(999, 11)], items[1].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void BadTokenizerFolder_ExitsWith2()
    {
        var (exit, output, err) = Run("--tokenizer", Path.Combine(TokenizerFixtures.ClipDir, "missing"), "a cat");
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("missing", err);
    }

    [Fact]
    public void FolderWithoutVocab_ExitsWith2NamingTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("clip-cli-").FullName;
        try
        {
            var (exit, _, err) = Run("--tokenizer", dir, "a cat");
            Assert.Equal(2, exit);
            Assert.Contains("vocab.json", err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadArguments_Fail()
    {
        Assert.NotEqual(0, Run("a cat").Exit); // --tokenizer is required
        Assert.NotEqual(0, Run("--tokenizer", TokenizerFixtures.ClipDir).Exit); // no prompt
        Assert.Equal(2, Run("--max-length", "1", "--tokenizer", TokenizerFixtures.ClipDir, "a").Exit);
    }
}
