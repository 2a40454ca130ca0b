using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>
    /// Batched transpose: x [B, R, C] → y [B, C, R]. NCHW ↔ tokens: [B, C, H·W] → [B, H·W, C] and back.
    /// Its own backward is the transpose of dy.
    /// </summary>
    void Transpose(Tensor y, Tensor x, int batch, int rows, int cols);

    /// <summary>Host → device copy (a plain copy on the CPU backend).</summary>
    void CopyFromHost(Tensor dst, ReadOnlySpan<float> src);

    /// <summary>Device → host copy; waits for the device.</summary>
    void CopyToHost(Span<float> dst, Tensor src);
}
