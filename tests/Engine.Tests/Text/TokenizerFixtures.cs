using System.Text.Json;
using Engine.Models.Text;

namespace Engine.Tests.Text;

/// <summary>One tokenizer reference case of fixtures/*/cases.json (transformers' CLIPTokenizer output).</summary>
public sealed record TokenizerCase(string Prompt, int[] InputIds, int[] AttentionMask, int[] UntruncatedIds, string[] Tokens);

/// <summary>The two CLIP tokenizer fixtures: the full 49408-entry vocabulary and tiny-sd's cut 1000-entry one.</summary>
internal static class TokenizerFixtures
{
    public static string ClipDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "clip-tokenizer");
    public static string TinyDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd", "tokenizer");

    static readonly Lazy<ClipTokenizer> clip = new(() => ClipTokenizer.FromDirectory(ClipDir));
    static readonly Lazy<ClipTokenizer> tiny = new(() => ClipTokenizer.FromDirectory(TinyDir));
    static readonly Lazy<JsonDocument> clipJson = new(() => Parse(Path.Combine(ClipDir, "cases.json")));
    static readonly Lazy<JsonDocument> tinyJson = new(() => Parse(Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd", "cases.json")));

    public static ClipTokenizer Clip => clip.Value;
    public static ClipTokenizer Tiny => tiny.Value;
    public static JsonElement ClipCasesRoot => clipJson.Value.RootElement;

    public static TokenizerCase[] ClipCases => [.. ClipCasesRoot.GetProperty("cases").EnumerateArray().Select(ReadCase)];
    public static TokenizerCase[] TinyCases => [.. tinyJson.Value.RootElement.GetProperty("tokenizer_cases").EnumerateArray().Select(ReadCase)];

    static TokenizerCase ReadCase(JsonElement c) => new(
        c.GetProperty("prompt").GetString()!,
        Ints(c.GetProperty("input_ids")),
        Ints(c.GetProperty("attention_mask")),
        Ints(c.GetProperty("untruncated_ids")),
        [.. c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)]);

    static int[] Ints(JsonElement a) => [.. a.EnumerateArray().Select(e => e.GetInt32())];

    static JsonDocument Parse(string path) => JsonDocument.Parse(File.ReadAllText(path));
}
