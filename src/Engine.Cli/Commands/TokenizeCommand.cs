using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Engine.Models.Text;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco tokenize --tokenizer &lt;dir&gt; [--max-length N] [--json] &lt;prompt&gt;...</c>: the CLIP ids (padded and
/// truncated to N, as the SD pipeline feeds the text encoder) and the tokens of each prompt.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var prompts = new Argument<string[]>("prompt") { Description = "one or more prompts", Arity = ArgumentArity.OneOrMore };
        var tokenizer = new Option<string>("--tokenizer") { Description = "folder with vocab.json and merges.txt (e.g. <model>/tokenizer)", Required = true };
        var maxLength = new Option<int>("--max-length") { Description = "ids per prompt: BOS, tokens, EOS, padding", DefaultValueFactory = _ => 77 };
        var json = new Option<bool>("--json") { Description = "print a JSON array of {prompt, ids, tokens}" };
        Options Bind(ParseResult parse) => new(parse.GetValue(tokenizer)!, parse.GetValue(prompts)!, parse.GetValue(maxLength), parse.GetValue(json));
        return new BoundCommand<Options>("tokenize", "Print the CLIP token ids of prompts.", Bind, Run) { prompts, tokenizer, maxLength, json };
    }

    public sealed record Options(string Tokenizer, string[] Prompts, int MaxLength, bool Json);

    static int Run(Options o, TextWriter stdout, TextWriter stderr)
    {
        var (dir, prompts, maxLength, json) = o;
        if (maxLength < 2)
        {
            stderr.WriteLine($"tokenize: --max-length must be at least 2 (BOS and EOS), got {maxLength}");
            return 2;
        }

        ClipTokenizer tok;
        try
        {
            tok = ClipTokenizer.FromDirectory(dir);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"tokenize: cannot load the tokenizer: {e.Message}");
            return 2;
        }

        var results = new List<TokenizedPrompt>(prompts.Length);
        var padding = new List<int>(prompts.Length);
        foreach (string prompt in prompts)
        {
            ClipEncoding e = tok.Encode(prompt, maxLength);
            results.Add(new TokenizedPrompt(prompt, e.Ids, [.. e.Ids.Select(tok.IdToToken)]));
            padding.Add(maxLength - e.AttentionMask.Sum());
        }

        if (json)
        {
            stdout.WriteLine(ToJson(results));
            return 0;
        }
        // One line of ids per prompt, then its tokens without the padding.
        for (int i = 0; i < results.Count; i++)
        {
            TokenizedPrompt r = results[i];
            stdout.WriteLine(string.Join(' ', r.Ids));
            string pad = padding[i] > 0 ? $" (+{padding[i]} padding)" : "";
            stdout.WriteLine("  " + string.Join(' ', r.Tokens.Take(r.Tokens.Length - padding[i])) + pad);
        }
        return 0;
    }

    // Written by hand rather than by JsonSerializer: reflection-based serialization is off in the trimmed build
    // (build.ps1 gpu-check). Unescaped so that prompts and the tokens' byte symbols (e.g. "Ã©") stay readable.
    static string ToJson(List<TokenizedPrompt> results)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("prompt", r.Prompt);
                w.WriteStartArray("ids");
                foreach (int id in r.Ids) w.WriteNumberValue(id);
                w.WriteEndArray();
                w.WriteStartArray("tokens");
                foreach (string t in r.Tokens) w.WriteStringValue(t);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    sealed record TokenizedPrompt(string Prompt, int[] Ids, string[] Tokens);
}
