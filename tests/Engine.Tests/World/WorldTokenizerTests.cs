using Engine.Models.Text;
using Engine.World;

namespace Engine.Tests.World;

public sealed class WorldTokenizerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "world-tok-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void EveryCaptionWordIsOneToken_AndOtherTextStillTokenizes()
    {
        WorldTokenizer.Write(_dir, Captions.Words(), WorldModel.MaxTokens);
        var tok = ClipTokenizer.FromDirectory(_dir);
        foreach (var word in Captions.Words())
        {
            var ids = tok.Encode(word, WorldModel.MaxTokens).Ids;
            // BOS, the word, then EOS padding.
            Assert.True(ids[0] == tok.BosId && ids[1] != tok.EosId && ids[2] == tok.EosId, $"'{word}' is not one token: {string.Join(",", ids)}");
        }
        var zebra = tok.Encode("zebra", WorldModel.MaxTokens).Ids;
        Assert.Equal(tok.BosId, zebra[0]);
        Assert.NotEqual(tok.EosId, zebra[1]);
    }

    [Fact]
    public void LongestCaptionFitsTheContext()
    {
        WorldTokenizer.Write(_dir, Captions.Words(), WorldModel.MaxTokens);
        var tok = ClipTokenizer.FromDirectory(_dir);
        var scene = new Scene(WorldVocabulary.ShapeIndex("triangle"), WorldVocabulary.ColourIndex("purple"), WorldVocabulary.StyleIndex("striped"), 2, 0.5f, 16, 16, 0);
        foreach (var template in Captions.AllTemplates)
        {
            string caption = Captions.Fill(template, scene);
            int words = caption.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Length + caption.Count(c => c == ',');
            Assert.True(words + 2 <= WorldModel.MaxTokens, $"'{caption}' needs {words + 2} tokens");
            var ids = tok.Encode(caption, WorldModel.MaxTokens).Ids;
            Assert.Equal(tok.EosId, ids[words + 1]);
        }
    }
}
