using Engine.Models.Unet;

namespace Engine.Cli.Bench;

/// <summary>The UNet shapes the benchmarks run at, by <c>--config</c> name.</summary>
internal static class BenchModels
{
    /// <summary>tiny-sd's shape (segmind/tiny-sd's layout at toy widths): two levels, cross-attention on the lower one.</summary>
    public static UNetConfig Tiny => new()
    {
        BlockOutChannels = [32, 64],
        DownBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"],
        UpBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"],
        NumAttentionHeads = [8, 8],
        CrossAttentionDim = 32,
        NormNumGroups = 8,
    };

    /// <summary>Stable Diffusion 1.5's UNet (the defaults of <see cref="UNetConfig"/>).</summary>
    public static UNetConfig Sd15 => new();
}
