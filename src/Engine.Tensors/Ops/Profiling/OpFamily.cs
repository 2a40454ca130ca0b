namespace Engine.Ops.Profiling;

/// <summary>
/// What an op's time is charged to. Convolutions include their im2col/col2im and the GEMMs they run inside the
/// backend; <see cref="Gemm"/> is the Linear layers' and attention projections' own GEMMs.
/// </summary>
public enum OpFamily
{
    ConvForward,
    ConvBackward,
    Gemm,
    AttentionForward,
    AttentionBackward,
    GroupNorm,
    LayerNorm,
    Elementwise,
    Optimizer,
    HostCopy,
}
