using Engine.Models.Text;
using Engine.Unlearning.Data;

namespace Engine.Tests.Unlearning;

public sealed class ConceptPromptsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("concept-prompts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string text)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void BuiltInObjectTemplatesContainTheAnchorAndMapToTheTarget()
    {
        var c = ConceptPrompts.BuiltIn(ConceptType.Object, "airplane", "parachute");
        Assert.Equal(ConceptPrompts.ObjectTemplates.Count, c.AnchorPrompts.Count);
        var targets = c.TargetPrompts(0);
        for (int i = 0; i < targets.Count; i++)
        {
            Assert.Contains("airplane", c.AnchorPrompts[i], StringComparison.Ordinal);
            Assert.DoesNotContain("airplane", targets[i], StringComparison.Ordinal);
            Assert.Equal(c.AnchorPrompts[i].Replace("airplane", "parachute", StringComparison.Ordinal), targets[i]);
        }
    }

    [Fact]
    public void BuiltInStyleTemplatesUseBothFormsOfTheSpec()
    {
        var c = ConceptPrompts.BuiltIn(ConceptType.Style, "painting", "van gogh");
        Assert.All(c.AnchorPrompts, p => Assert.Contains("painting", p, StringComparison.Ordinal));
        // Over many draws both §1 forms appear, about 1/3 suffix.
        var rng = new Random(7);
        int suffix = 0, n = 3000;
        for (int i = 0; i < n; i++)
        {
            string caption = c.AnchorPrompts[i % c.AnchorPrompts.Count];
            string t = c.TargetPrompt(caption, rng);
            if (t == $"{caption}, in the style of van gogh") suffix++;
            else Assert.Equal($"in van gogh's style, {caption}", t);
        }
        Assert.InRange(suffix, n / 3 - 150, n / 3 + 150);
    }

    [Fact]
    public void TargetPromptsAreDeterministicPerSeed()
    {
        var c = ConceptPrompts.BuiltIn(ConceptType.Style, "painting", "monet");
        Assert.Equal(c.TargetPrompts(3), c.TargetPrompts(3));
    }

    [Fact]
    public void StyleFormsAreExact()
    {
        Assert.Equal("a painting of a dog, in the style of monet", ConceptPrompts.StylePrompt("a painting of a dog", "monet", suffix: true));
        Assert.Equal("in monet's style, a painting of a dog", ConceptPrompts.StylePrompt("a painting of a dog", "monet", suffix: false));
    }

    [Theory]
    [InlineData("a cat on a mat", "a dog on a mat")]
    [InlineData("Cat and cat and CAT", "Dog and dog and DOG")]
    [InlineData("a catalog of cats, concat", "a catalog of cats, concat")] // no whole-word match
    [InlineData("cat.", "dog.")]
    [InlineData("(cat)-cat", "(dog)-dog")]
    [InlineData("cat2 2cat", "cat2 2cat")] // digits are word characters
    public void ObjectReplacementIsWholeWordAndCaseAware(string text, string expected)
        => Assert.Equal(expected, ConceptPrompts.ReplaceWord(text, "cat", "dog"));

    [Fact]
    public void MultiWordAnchorsAreReplaced()
        => Assert.Equal("a photo of R2-D2 on Mars", ConceptPrompts.ReplaceWord("a photo of Robot Arm on Mars", "robot arm", "r2-D2"));

    [Theory]
    [InlineData("", "dog")]
    [InlineData("cat", "  ")]
    [InlineData("Cat", "cAT")]
    [InlineData("van gogh", " Van Gogh ")]
    public void BadConceptsThrow(string anchor, string target)
    {
        var e = Assert.Throws<ArgumentException>(() => ConceptPrompts.BuiltIn(ConceptType.Object, anchor, target));
        Assert.Matches("empty|equals", e.Message);
    }

    [Fact]
    public void ObjectPromptWithoutTheAnchorWordThrows()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConceptPrompts(ConceptType.Object, "cat", "dog", ["a cat", "a catalog"]));
        Assert.Contains("a catalog", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileSkipsBlankLinesAndComments()
    {
        var path = WriteFile("# captions\n\na cat on a sofa  \n   \n  # another comment\r\nCat in a box\n");
        var c = ConceptPrompts.FromFile(ConceptType.Object, "cat", "dog", path);
        Assert.Equal(["a cat on a sofa", "Cat in a box"], c.AnchorPrompts);
        Assert.Equal(["a dog on a sofa", "Dog in a box"], c.TargetPrompts(0));
    }

    [Fact]
    public void EmptyFileIsAnErrorNamingTheFile()
    {
        var path = WriteFile("# only a comment\n\n");
        var e = Assert.Throws<ArgumentException>(() => ConceptPrompts.LoadFile(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("no prompts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileThrows()
        => Assert.Throws<FileNotFoundException>(() => ConceptPrompts.LoadFile(Path.Combine(_dir, "nope.txt")));

    [Fact]
    public void TooLongPromptIsAnErrorNamingFileAndLine()
    {
        var tok = ClipTokenizer.FromDirectory(Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd", "tokenizer"));
        string longPrompt = string.Join(" ", Enumerable.Repeat("cat", 100));
        var path = WriteFile($"# header\na cat\n{longPrompt}\n");
        var e = Assert.Throws<ArgumentException>(() => ConceptPrompts.LoadFile(path, tok));
        Assert.Contains($"{path}:3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("77", e.Message, StringComparison.Ordinal);
        // The same file without the long line loads.
        File.WriteAllText(path, "a cat\n");
        Assert.Equal(["a cat"], ConceptPrompts.LoadFile(path, tok));
    }
}
