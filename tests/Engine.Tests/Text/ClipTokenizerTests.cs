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

    // ---- edge cases (ids of the full vocabulary; the expected token strings follow from the fixture cases) ----

    const int Bos = 49406, Eos = 49407;

    static string[] Tokens(string text) => [.. Clip.Tokenize(text)];

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\r\n \u00A0\u3000")]
    [InlineData("\u200B\u200D\u00AD\u0000\uFFFD\u0007")] // all dropped as category C* (or U+0000, U+FFFD)
    public void EmptyPrompt_IsBosEosThenPadding(string prompt)
    {
        Assert.Equal([Bos, Eos], Clip.EncodeUntruncated(prompt));
        ClipEncoding e = Clip.Encode(prompt);
        Assert.Equal(77, e.Ids.Length);
        Assert.Equal([Bos, .. Enumerable.Repeat(Eos, 76)], e.Ids);
        Assert.Equal([1, 1, .. Enumerable.Repeat(0, 75)], e.AttentionMask);
    }

    [Fact]
    public void LongPrompt_TruncationKeepsBosFirst75TokensAndEos()
    {
        int cat = Clip.TokenToId("cat</w>"), dog = Clip.TokenToId("dog</w>");
        string prompt = string.Join(' ', Enumerable.Repeat("cat", 75)) + " dog dog dog";
        Assert.Equal(80, Clip.EncodeUntruncated(prompt).Length);

        ClipEncoding e = Clip.Encode(prompt, 77);
        Assert.Equal([Bos, .. Enumerable.Repeat(cat, 75), Eos], e.Ids);
        Assert.DoesNotContain(dog, e.Ids);
        Assert.All(e.AttentionMask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void PromptOfExactly75Tokens_IsNotCutAndNotPadded()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("cat", 75));
        int[] full = Clip.EncodeUntruncated(prompt);
        Assert.Equal(77, full.Length);
        Assert.Equal(full, Clip.Encode(prompt).Ids);

        int[] cut = Clip.Encode(prompt + " dog").Ids; // 76 tokens: the last one goes, EOS stays
        Assert.Equal(full, cut);
    }

    [Fact]
    public void MaxLength_IsConfigurable()
    {
        ClipEncoding shortPad = Clip.Encode("a photo of a cat", 10);
        Assert.Equal([Bos, 320, 1125, 539, 320, 2368, Eos, Eos, Eos, Eos], shortPad.Ids);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], shortPad.AttentionMask);

        Assert.Equal([Bos, 320, 1125, Eos], Clip.Encode("a photo of a cat", 4).Ids);
        Assert.Equal([Bos, Eos], Clip.Encode("a photo of a cat", 2).Ids);
        Assert.Equal(77, Clip.Encode("a cat").Ids.Length); // default: model_max_length
        Assert.Throws<ArgumentOutOfRangeException>(() => Clip.Encode("a cat", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clip.Encode("a cat", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clip.IdToToken(49408));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clip.Encode("a cat", -5));
    }

    [Theory]
    [InlineData("multiple   spaces \t here\r\nnow")]
    [InlineData("  multiple spaces here now  ")]
    [InlineData("multiple\u00A0spaces\u3000here\u2028now")] // Zs become spaces; U+2028 is whitespace to str.split
    [InlineData("MULTIPLE Spaces HeRe NOW")]
    public void Whitespace_AndCase_DoNotMatter(string prompt) =>
        Assert.Equal(Tokens("multiple spaces here now"), Tokens(prompt));

    [Fact]
    public void Numbers_EachDigitIsAWord()
    {
        Assert.Equal(["2</w>", "0</w>", "4</w>", "8</w>"], Tokens("2048"));
        Assert.Equal(["3</w>", ".</w>", "5</w>"], Tokens("3.5"));
        Assert.Equal(["x</w>", "2</w>", "y</w>"], Tokens("x2y"));
        Assert.Equal(Tokens("1 ½"), Tokens("1½")); // ½ is \p{N}: a word of its own
    }

    [Fact]
    public void Apostrophes_SplitOffContractions()
    {
        Assert.Equal(["it</w>", "'s</w>"], Tokens("it's"));
        Assert.Equal(["don</w>", "'t</w>", "stop</w>"], Tokens("DON'T STOP"));
        Assert.Equal(["we</w>", "'ll</w>", "they</w>", "'d</w>", "'re</w>", "'ve</w>", "i</w>", "'m</w>"], Tokens("WE'LL THEY'D 'RE 'VE I'M"));
        Assert.Equal(["'s</w>", "'s</w>"], Tokens("'s's"));
        Assert.Equal(["ab</w>", "'s</w>", "x</w>"], Tokens("ab'sx"));
    }

    [Fact]
    public void Punctuation_RunsStayOneWord()
    {
        Assert.Equal(["hello</w>", ",</w>", "world</w>", "!</w>"], Tokens("hello, world!"));
        // BPE only merges inside a word, so a run of punctuation is one word ending in </w>.
        Assert.Equal(BytePairEncoding.ByteEncode("...!!!???") + "</w>", string.Concat(Tokens("...!!!???")));
        Assert.Equal(["(</w>", "cat</w>", "),</w>"], Tokens("(cat),"));
    }

    [Fact]
    public void Unicode_IsCleanedAsBasicTokenizerDoes()
    {
        Assert.Equal(Tokens("crème brûlée"), Tokens("cre\u0300me bru\u0302le\u0301e")); // NFC
        Assert.Equal(Tokens("crème brûlée"), Tokens("CRÈME BRÛLÉE"));                    // lower-case, accents kept
        Assert.NotEqual(Tokens("creme"), Tokens("crème"));                               // strip_accents=False
        Assert.Equal(Tokens("ab"), Tokens("a\u200Bb\u00AD"));                            // zero-width space, soft hyphen
        Assert.Equal(Tokens("helloworld!"), Tokens("hello\u0000world\uFFFD!"));
        Assert.Equal(Tokens("i\u0307stanbul"), Tokens("İSTANBUL"));                      // Python's full lower-case of İ
        Assert.Equal(["ðŁ¤ĸ</w>"], Tokens("🤖"));
        Assert.Equal(Tokens("ok"), Tokens("\U0001FAE8 ok")); // U+1FAE8 (Unicode 15) is unassigned in Unicode 14: dropped
        Assert.Equal(Tokens("日 本"), Tokens("日本"));       // spaces around CJK ideographs
        Assert.Equal(BytePairEncoding.ByteEncode("한국어") + "</w>", string.Concat(Tokens("한국어"))); // Hangul is not split
        // A letter outside the BMP is \p{L} to Python's regex: "a𝐀b" stays one word.
        Assert.Equal(BytePairEncoding.ByteEncode("a\U0001D400b") + "</w>", string.Concat(Tokens("a\U0001D400b")));
    }

    [Theory]
    [InlineData("ΟΔΟΣ ΣΑ Σ", "οδος σα σ")] // final sigma only at the end of a word
    [InlineData("ΌΣΟΣ.", "όσος.")]
    [InlineData("e\u0301 \u1100\u1161\u11A8 \u212B", "é 각 å")] // NFC composes, Hangul too, Å (Angstrom) -> Å, then lower
    [InlineData("日本語テキスト", "日 本 語 テキスト")]
    [InlineData(" a\tB\u2029c ", "a b c")]
    public void Cleaner_MatchesBasicTokenizer(string text, string expected) =>
        Assert.Equal(expected, ClipTextCleaner.Clean(text));

    [Fact]
    public void SpecialTokensInText_BecomeTheirIds()
    {
        Assert.Equal([Bos, 320, Eos, 321, Eos], Clip.EncodeUntruncated("a <|endoftext|> b"));
        Assert.Equal([Bos, Bos, Eos, Eos], Clip.EncodeUntruncated("<|startoftext|><|endoftext|>"));
        Assert.Equal([Bos, 256, Eos, Eos], Clip.EncodeUntruncated("!<|endoftext|>"));   // split out before the word regex
        Assert.Equal([Bos, Eos, Eos], Clip.EncodeUntruncated("<|ENDOFTEXT|>"));        // lower-cased, then the regex literal
        Assert.Single(Clip.EncodeUntruncated("a<|endoftext|"), id => id == Eos);      // not a special token
    }

    [Fact]
    public void IgnoreCase_FoldsLongS_AsPythonRegexDoes()
    {
        // Python's regex IGNORECASE folds ſ to s: "'ſ" is a contraction word, "<|ſtartoftext|>" one word that is
        // BPE-encoded (only the exact string is the special token). Ids from a line-by-line port of
        // CLIPTokenizer on Python 3.11 with the regex module.
        Assert.Equal([Bos, 6, 129, 379, 1253, Eos], Clip.EncodeUntruncated("'ſtop"));
        Assert.Equal([Bos, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285, Eos], Clip.EncodeUntruncated("<|ſtartoftext|>"));
    }

    [Fact]
    public void Tokenize_IsDeterministicAcrossThreadsAndCalls()
    {
        string[] prompts = [.. TokenizerFixtures.ClipCases.Select(c => c.Prompt)];
        int[][] serial = [.. prompts.Select(p => Clip.Encode(p).Ids)];
        var parallel = new int[prompts.Length * 8][];
        ClipTokenizer fresh = ClipTokenizer.FromDirectory(TokenizerFixtures.ClipDir); // cold BPE cache, filled concurrently
        Parallel.For(0, parallel.Length, i => parallel[i] = fresh.Encode(prompts[i % prompts.Length]).Ids);
        for (int i = 0; i < parallel.Length; i++) Assert.Equal(serial[i % prompts.Length], parallel[i]);
    }

    // ---- the BPE itself, on hand-made merges ----

    [Fact]
    public void Bpe_MergesLowestRankFirst()
    {
        var bpe = new BytePairEncoding([("b", "c"), ("a", "b")], []);
        Assert.Equal(["a", "bc", "d</w>"], bpe.Encode("abcd")); // (b,c) has rank 0, so "ab" never forms
        Assert.Equal(["ab", "d</w>"], bpe.Encode("abd"));
        Assert.Equal(["x</w>"], bpe.Encode("x"));
    }

    [Fact]
    public void Bpe_MergesLeftToRightWithoutOverlap()
    {
        var bpe = new BytePairEncoding([("a", "a")], []);
        Assert.Equal(["aa", "a</w>"], bpe.Encode("aaa"));
        Assert.Equal(["aa", "a", "a</w>"], bpe.Encode("aaaa"));
        var withEnd = new BytePairEncoding([("a", "a"), ("a", "a</w>")], []);
        Assert.Equal(["aa", "aa</w>"], withEnd.Encode("aaaa"));
    }

    [Fact]
    public void Bpe_VerbatimWordsAreNotEncoded()
    {
        var bpe = new BytePairEncoding([("<", "|")], ["<|endoftext|>"]);
        Assert.Equal(["<|endoftext|>"], bpe.Encode("<|endoftext|>"));
        Assert.Equal(["<|", "x</w>"], bpe.Encode("<|x"));
    }
}

