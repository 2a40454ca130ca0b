using Engine.Models.Unet;

namespace Engine.Tests.Cuda;

/// <summary>
/// The UNet the emulated-CUDA tests use: tiny-sd's structure (a plain and a cross-attention level, mid block with
/// attention, skip concatenations, up/down sampling) at 8/16 channels, one layer per block and 8×8 latents, so the
/// kernel emulator (a CPU) runs whole models and training steps in seconds.
/// </summary>
internal static class TinyUNet
{
    public static UNetConfig Config(int crossAttentionDim = 8) => new()
    {
        SampleSize = 8,
        BlockOutChannels = [8, 16],
        LayersPerBlock = 1,
        DownBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"],
        UpBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"],
        NumAttentionHeads = [2, 2],
        CrossAttentionDim = crossAttentionDim,
        NormNumGroups = 4,
    };
}
