namespace Engine.Ops.Profiling;

/// <summary>
/// What an op's time is charged to. Convolutions include the GEMMs they run inside the backend, and their
/// im2col/col2im unless the backend times those itself (<see cref="IPhaseTimer"/>, the CPU does): then that part is
/// <see cref="Im2Col"/>. <see cref="Gemm"/> is the Linear layers' and attention projections' own GEMMs.
/// </summary>
public enum OpFamily
{
    ConvForward,
    ConvBackward,
    Im2Col,
    Gemm,
    AttentionForward,
    AttentionBackward,
    GroupNorm,
    LayerNorm,
    Elementwise,
    Optimizer,
    HostCopy,
}
