using Engine.Models.Text;

namespace Engine.Tests.Text;

/// <summary>
/// The CLIP tokenizer against transformers' CLIPTokenizer: every case of fixtures/clip-tokenizer/cases.json (full
/// vocabulary) and of tiny-sd/cases.json (1000-entry vocabulary), then edge cases.
/// </summary>
public class ClipTokenizerTests
{
    static ClipTokenizer Clip => TokenizerFixtures.Clip;

    public static TheoryData<int> ClipCaseIndices => [.. Enumerable.Range(0, TokenizerFixtures.ClipCases.Length)];
    public static TheoryData<int> TinyCaseIndices => [.. Enumerable.Range(0, TokenizerFixtures.TinyCases.Length)];

    [Theory]
    [MemberData(nameof(ClipCaseIndices))]
    public void ClipFixture_MatchesTransformers(int index) => AssertCase(Clip, TokenizerFixtures.ClipCases[index]);

    [Theory]
    [MemberData(nameof(TinyCaseIndices))]
    public void TinySdFixture_MatchesTransformers(int index) => AssertCase(TokenizerFixtures.Tiny, TokenizerFixtures.TinyCases[index]);

    static void AssertCase(ClipTokenizer tok, TokenizerCase c)
    {
        List<string> tokens = tok.Tokenize(c.Prompt);
        Assert.Equal(c.Tokens, (string[])[tok.BosToken, .. tokens, tok.EosToken]);
        Assert.Equal(c.UntruncatedIds, tok.EncodeUntruncated(c.Prompt));
        Assert.Equal(c.Tokens, c.UntruncatedIds.Select(tok.IdToToken));
        ClipEncoding e = tok.Encode(c.Prompt, 77);
        Assert.Equal(c.InputIds, e.Ids);
        Assert.Equal(c.AttentionMask, e.AttentionMask);
    }

    [Fact]
    public void ClipFixture_CaseCountAndSpecialIds()
    {
        Assert.Equal(15, TokenizerFixtures.ClipCases.Length);
        Assert.Equal(3, TokenizerFixtures.TinyCases.Length);
        var root = TokenizerFixtures.ClipCasesRoot;
        Assert.Equal(root.GetProperty("bos_token_id").GetInt32(), Clip.BosId);
        Assert.Equal(root.GetProperty("eos_token_id").GetInt32(), Clip.EosId);
        Assert.Equal(root.GetProperty("pad_token_id").GetInt32(), Clip.PadId);
        Assert.Equal(root.GetProperty("model_max_length").GetInt32(), Clip.ModelMaxLength);
        Assert.Equal(49408, Clip.VocabSize);
        Assert.Equal((998, 999, 999, 1000), (TokenizerFixtures.Tiny.BosId, TokenizerFixtures.Tiny.EosId, TokenizerFixtures.Tiny.PadId, TokenizerFixtures.Tiny.VocabSize));
    }

    [Fact]
    public void BytesToUnicode_IsTheVocabularyOrder()
    {
        // CLIP's ids 0-255 are the byte symbols in bytes_to_unicode order, 256-511 the same with </w>.
        int id = 0;
        foreach (char c in BytePairEncoding.ByteSymbolsInTableOrder())
        {
            Assert.Equal(id, Clip.TokenToId(c.ToString()));
            Assert.Equal(id + 256, Clip.TokenToId(c + "</w>"));
            id++;
        }
        Assert.Equal(256, id);
        Assert.Equal(256, BytePairEncoding.ByteToChar.Distinct().Count());
        Assert.Equal('!', BytePairEncoding.ByteToChar['!']);
        Assert.Equal('\u0120', BytePairEncoding.ByteToChar[' ']); // GPT-2's "Ġ"
    }
}
