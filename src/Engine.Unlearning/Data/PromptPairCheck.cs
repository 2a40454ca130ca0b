using Engine.Models.Text;

namespace Engine.Unlearning.Data;

/// <summary>An (anchor, target) prompt pair that the text encoder cannot tell apart, and why.</summary>
public sealed record BrokenPromptPair(int Index, string AnchorPrompt, string TargetPrompt, string Reason);

/// <summary>
/// Checks every (anchor prompt, target prompt) pair as the text encoder will see it: tokenized and cut to its maximum
/// length. A pair is broken when both prompts give the same token ids (the discriminator is then handed the same x̂0
/// labelled real and fake), or when the concept word or the anchor word is cut off, in part or whole. The official code
/// never checks; with a small vocabulary or long captions a share of pairs silently teaches nothing.
/// </summary>
public static class PromptPairCheck
{
    /// <summary>More than this share of broken pairs refuses the run.</summary>
    public const double MaxBrokenShare = 0.25;

    public static IReadOnlyList<BrokenPromptPair> Find(ClipTokenizer tokenizer, int maxLength, IReadOnlyList<string> anchorPrompts,
        IReadOnlyList<string> targetPrompts, string anchorWord, string targetWord)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(anchorPrompts);
        ArgumentNullException.ThrowIfNull(targetPrompts);
        if (anchorPrompts.Count != targetPrompts.Count)
            throw new ArgumentException($"{anchorPrompts.Count} anchor prompts but {targetPrompts.Count} target prompts");
        int[] anchorTokens = WordIds(tokenizer, anchorWord), targetTokens = WordIds(tokenizer, targetWord);
        var broken = new List<BrokenPromptPair>();
        for (int i = 0; i < anchorPrompts.Count; i++)
        {
            int[] a = tokenizer.Encode(anchorPrompts[i], maxLength).Ids, t = tokenizer.Encode(targetPrompts[i], maxLength).Ids;
            string? reason =
                a.AsSpan().SequenceEqual(t) ? $"both prompts give the same {maxLength} token ids" :
                !Contains(t, targetTokens) ? $"the concept '{targetWord}' is cut off at {maxLength} tokens ({tokenizer.EncodeUntruncated(targetPrompts[i]).Length} needed)" :
                !Contains(a, anchorTokens) ? $"the anchor '{anchorWord}' is cut off at {maxLength} tokens ({tokenizer.EncodeUntruncated(anchorPrompts[i]).Length} needed)" :
                null;
            if (reason is not null) broken.Add(new BrokenPromptPair(i, anchorPrompts[i], targetPrompts[i], reason));
        }
        return broken;
    }

    /// <summary>Whether <paramref name="broken"/> pairs of <paramref name="total"/> are too many to train on.</summary>
    public static bool TooMany(int broken, int total) => total == 0 || broken > MaxBrokenShare * total;

    /// <summary>The word's token ids as they stand inside a prompt (no BOS/EOS).</summary>
    private static int[] WordIds(ClipTokenizer tokenizer, string word)
    {
        var ids = tokenizer.EncodeUntruncated(word.Trim());
        return ids[1..^1];
    }

    private static bool Contains(int[] ids, int[] word) => word.Length == 0 || ids.AsSpan().IndexOf(word) >= 0;
}
