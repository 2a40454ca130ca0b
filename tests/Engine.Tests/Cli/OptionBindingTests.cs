using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engine.Cli;

namespace Engine.Tests.Cli;

/// <summary>
/// Every option and argument of every verb, through the shipped parser (<see cref="Program.CreateRoot"/>): given a
/// value other than its default, it must change exactly the field of the verb's options record named in
/// <see cref="Table"/>. An option that parses but is never handed to Run changes nothing and fails here; an option
/// added without a row fails <see cref="EveryOptionOfEveryVerb_HasARow"/>. What Run then does with each field is left
/// to the verbs' behavioural tests.
/// </summary>
public class OptionBindingTests
{
    /// <summary>What a verb needs in order to parse at all: its required options and its arguments (written &lt;name&gt;).</summary>
    private static readonly Dictionary<string, (string Symbol, string Value)[]> Required = new()
    {
        ["inspect"] = [("<path>", "model.safetensors")],
        ["tokenize"] = [("--tokenizer", "tokenizer"), ("<prompt>", "a cat")],
        ["verify"] = [("<fixture-folder>", "fixture")],
        ["sample"] = [("--model", "model"), ("--prompt", "a cat")],
        ["lora"] = [("<erased-dir>", "run")],
    };

    /// <summary>
    /// (verb path, option or &lt;argument&gt;, a value other than the default — null for a flag —, the field of the
    /// options record it must change, nested fields joined by dots).
    /// </summary>
    private static readonly (string Verb, string Symbol, string? Value, string Field)[] Table =
    [
        ("inspect", "<path>", "other.safetensors", "Path"),

        ("tokenize", "--tokenizer", "other", "Tokenizer"),
        ("tokenize", "<prompt>", "a dog", "Prompts"),
        ("tokenize", "--max-length", "12", "MaxLength"),
        ("tokenize", "--json", null, "Json"),

        ("kernels", "--arch", "sm_90", "Arch"),

        ("verify", "<fixture-folder>", "other", "Folder"),
        ("verify", "--verbose", null, "Verbose"),
        ("verify", "--backend", "cpu", "Backend"),

        ("sample", "--model", "other", "Model"),
        ("sample", "--prompt", "a dog", "Prompt"),
        ("sample", "--negative", "blurry", "Negative"),
        ("sample", "--steps", "3", "Settings.Steps"),
        ("sample", "--cfg", "3", "Settings.GuidanceScale"),
        ("sample", "--eta", "0.5", "Settings.Eta"),
        ("sample", "--seed", "9", "Settings.Seed"),
        ("sample", "--n", "2", "Settings.Count"),
        ("sample", "--batch", "2", "Settings.MaxBatch"),
        ("sample", "--out", "other.png", "Out"),
        ("sample", "--backend", "cpu", "Backend"),
        ("sample", "--lora", "erase.safetensors", "Lora"),
        ("sample", "--lora-scale", "0.5", "LoraScale"),

        ("selftest", "--backend", "cpu", "Backend"),
        ("selftest", "--filter", "adam", "Filter"),

        ("bench unet", "--config", "sd15", "Config"),
        ("bench unet", "--batch", "2", "Batch"),
        ("bench unet", "--size", "8", "Size"),
        ("bench unet", "--steps", "3", "Steps"),
        ("bench unet", "--train", "kv", "Train"),
        ("bench unet", "--backend", "cuda", "Backend"),
        ("bench unet", "--profile", null, "Profile"),

        ("bench doco", "--config", "sd15", "Config"),
        ("bench doco", "--steps", "3", "Steps"),
        ("bench doco", "--batch", "2", "Batch"),
        ("bench doco", "--backend", "cuda", "Backend"),
        ("bench doco", "--profile", null, "Profile"),

        ("bench kernels", "--backend", "cpu", "Backend"),
        ("bench kernels", "--config", "tiny", "Config"),
        ("bench kernels", "--batch", "1", "Batch"),
        ("bench kernels", "--min-time", "0", "MinTime"),
        ("bench kernels", "--only", "attention", "Only"),

        ("world render", "--n", "2", "N"),
        ("world render", "--seed", "1", "Seed"),
        ("world render", "--out", "other.png", "Out"),

        ("world pretrain", "--steps", "10", "Settings.Steps"),
        ("world pretrain", "--batch", "4", "Settings.Batch"),
        ("world pretrain", "--lr", "0.001", "Settings.LearningRate"),
        ("world pretrain", "--checkpoint-every", "5", "Settings.CheckpointEvery"),
        ("world pretrain", "--seed", "9", "Settings.Seed"),
        ("world pretrain", "--style-captions", "0.75", "Settings.StyleCaptionShare"),
        ("world pretrain", "--out", "other", "Out"),
        ("world pretrain", "--state", "other", "State"),
        ("world pretrain", "--resume", null, "Resume"),
        ("world pretrain", "--backend", "cuda", "Backend"),

        ("world denoise", "--model", "other", "Model"),
        ("world denoise", "--n", "2", "N"),
        ("world denoise", "--backend", "cuda", "Backend"),

        ("world classifier", "--steps", "10", "Settings.Steps"),
        ("world classifier", "--batch", "4", "Settings.Batch"),
        ("world classifier", "--lr", "0.001", "Settings.LearningRate"),
        ("world classifier", "--seed", "1", "Settings.Seed"),
        ("world classifier", "--eval", "10", "Settings.EvalImages"),
        ("world classifier", "--out", "other", "Out"),
        ("world classifier", "--backend", "cuda", "Backend"),

        ("world quality", "--model", "other", "Model"),
        ("world quality", "--classifier", "other", "Classifier"),
        ("world quality", "--n", "2", "N"),
        ("world quality", "--steps", "3", "Sampling.Steps"),
        ("world quality", "--cfg", "2", "Sampling.GuidanceScale"),
        ("world quality", "--grid", "grid.png", "Grid"),
        ("world quality", "--trained", null, "Trained"),
        ("world quality", "--backend", "cuda", "Backend"),

        ("eval", "--model", "other", "Model"),
        ("eval", "--base", "other", "Base"),
        ("eval", "--concept", "square", "Concept"),
        ("eval", "--anchor", "triangle", "Anchor"),
        ("eval", "--prompts", "prompts.txt", "Prompts"),
        ("eval", "--out", "other", "Out"),
        ("eval", "--n", "2", "N"),
        ("eval", "--quick", null, "Quick"),
        ("eval", "--steps", "3", "Sampling.Steps"),
        ("eval", "--cfg", "2", "Sampling.GuidanceScale"),
        ("eval", "--classifier", "other", "Classifier"),
        ("eval", "--seed", "1", "Seed"),
        ("eval", "--backend", "cuda", "Backend"),

        ("lora", "<erased-dir>", "other", "ErasedDir"),
        ("lora", "--rank", "8", "Rank"),
        ("lora", "--out", "elsewhere", "Out"),

        ("erase", "--model", "somewhere", "Model"),
        ("erase", "--lora", "4", "Lora"),
        ("erase", "--concept", "parachute", "Concept"),
        ("erase", "--anchor", "airplane", "Anchor"),
        ("erase", "--type", "style", "Type"),
        ("erase", "--method", "esd", "Method"),
        ("erase", "--surgery", "official", "Surgery"),
        ("erase", "--steps", "7", "Steps"),
        ("erase", "--warmup", "3", "Warmup"),
        ("erase", "--batch", "2", "Batch"),
        ("erase", "--lr", "0.001", "Lr"),
        ("erase", "--dlr", "0.002", "Dlr"),
        ("erase", "--anchors", "5", "Anchors"),
        ("erase", "--anchor-steps", "3", "AnchorSteps"),
        ("erase", "--anchor-batch", "2", "AnchorBatch"),
        ("erase", "--train", "full", "Train"),
        ("erase", "--out", "elsewhere", "Out"),
        ("erase", "--cache", "c", "Cache"),
        ("erase", "--resume", null, "Resume"),
        ("erase", "--seed", "7", "Seed"),
        ("erase", "--backend", "cuda", "Backend"),
        ("erase", "--checkpoint-every", "5", "CheckpointEvery"),
        ("erase", "--esd-ddim-steps", "9", "EsdDdimSteps"),
        ("erase", "--official-d-leak", null, "Leak"),
        ("erase", "--apply-retain-grad", null, "ApplyRetainGrad"),
        ("erase", "--eval", "false", "Eval"),
        ("erase", "--quick", null, "Quick"),
        ("erase", "--single-file", null, "SingleFile"),
        ("erase", "--no-domain-correction", null, "NoDomainCorrection"),
        ("erase", "--discriminator-only", null, "DiscriminatorOnly"),
        ("erase", "--adv-tmin", "100", "AdvTMin"),
        ("erase", "--adv-tmax", "600", "AdvTMax"),
        ("erase", "--hflip", null, "HFlip"),
        ("erase", "--disc-layers", "2", "DiscLayers"),
        ("erase", "--disc-width", "32", "DiscWidth"),
        ("erase", "--ruler-seed", "3", "RulerSeed"),
        ("erase", "--disc-norm", "none", "DiscNorm"),
        ("erase", "--adv-weight", "flat", "AdvWeight"),
        ("erase", "--dry-run", null, "DryRun"),

        ("compare", "--protocol", "equal-updates", "Protocol"),
        ("compare", "--updates", "10", "Updates"),
        ("compare", "--seeds", "5", "Seeds"),
        ("compare", "--concept", "striped", "Concept"),
        ("compare", "--anchor", "plain", "Anchor"),
        ("compare", "--type", "style", "Type"),
        ("compare", "--only", "ca", "Only"),
        ("compare", "--quick", null, "Quick"),
        ("compare", "--out", "x", "Out"),
        ("compare", "--ruler-seed", "2", "RulerSeed"),
        ("compare", "--report-only", null, "ReportOnly"),
    ];

    public static TheoryData<string, string, string?, string> Rows()
    {
        var data = new TheoryData<string, string, string?, string>();
        foreach (var (verb, symbol, value, field) in Table) data.Add(verb, symbol, value, field);
        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Option_ChangesItsFieldAndNoOther(string verb, string symbol, string? value, string field)
    {
        var without = Fields(Bind(verb, Arguments(verb, null, null)));
        var with = Fields(Bind(verb, Arguments(verb, symbol, value)));
        Assert.Equal(without.Keys.Order(), with.Keys.Order());
        var changed = without.Keys.Where(k => without[k] != with[k]).Order().ToArray();
        Assert.Equal([field], changed);
    }

    [Fact]
    public void EveryOptionOfEveryVerb_HasARow()
    {
        var root = Program.CreateRoot();
        var symbols = Walk(root, "").ToHashSet();
        var rows = Table.Select(r => (r.Verb, r.Symbol)).ToHashSet();
        Assert.Empty(symbols.Except(rows).Select(s => $"{s.Verb} {s.Symbol}")); // an option without a row
        Assert.Empty(rows.Except(symbols).Select(s => $"{s.Verb} {s.Symbol}")); // a row naming no option
        Assert.Equal(rows.Count, Table.Length); // one row per option
    }

    /// <summary>Every (verb path, option or &lt;argument&gt;) below <paramref name="command"/>, help and version aside.</summary>
    private static IEnumerable<(string Verb, string Symbol)> Walk(Command command, string path)
    {
        // A verb with an action must bind through BoundCommand, or its options could not be checked here.
        if (path != "" && command.Action is not null) Assert.True(command is IBoundCommand, $"doco {path} does not bind through BoundCommand");
        foreach (var option in command.Options.Where(o => o is not HelpOption and not VersionOption)) yield return (path, option.Name);
        foreach (var argument in command.Arguments) yield return (path, $"<{argument.Name}>");
        foreach (var sub in command.Subcommands)
            foreach (var s in Walk(sub, path == "" ? sub.Name : $"{path} {sub.Name}")) yield return s;
    }

    /// <summary>The verb's required symbols, with <paramref name="symbol"/> set to <paramref name="value"/> (replacing its required value).</summary>
    private static string[] Arguments(string verb, string? symbol, string? value)
    {
        var args = new List<string>();
        foreach (var (s, v) in Required.GetValueOrDefault(verb, []))
        {
            if (s != symbol) args.AddRange(Tokens(s, v));
        }
        if (symbol is not null) args.AddRange(Tokens(symbol, value));
        return [.. args];
    }

    private static IEnumerable<string> Tokens(string symbol, string? value) =>
        symbol.StartsWith('<') ? [value!] : value is null ? [symbol] : [symbol, value];

    /// <summary>The options record that <c>doco verb args…</c> hands to the verb's Run.</summary>
    private static object Bind(string verb, string[] args)
    {
        var parse = Program.CreateRoot().Parse([.. verb.Split(' '), .. args]);
        Assert.True(parse.Errors.Count == 0, $"doco {verb} {string.Join(' ', args)}: " + string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal(verb.Split(' ')[^1], parse.CommandResult.Command.Name);
        return Assert.IsAssignableFrom<IBoundCommand>(parse.CommandResult.Command).Bind(parse);
    }

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// The record's fields, nested records flattened into dotted names, each as JSON text: arrays compare by content
    /// and every field is seen, whatever its type.
    /// </summary>
    private static Dictionary<string, string> Fields(object record)
    {
        var fields = new Dictionary<string, string>();
        void Add(JsonElement e, string prefix)
        {
            if (e.ValueKind != JsonValueKind.Object) { fields[prefix] = e.GetRawText(); return; }
            foreach (var p in e.EnumerateObject()) Add(p.Value, prefix == "" ? p.Name : $"{prefix}.{p.Name}");
        }
        Add(JsonSerializer.SerializeToElement(record, record.GetType(), Json), "");
        return fields;
    }
}
