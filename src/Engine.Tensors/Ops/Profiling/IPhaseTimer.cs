namespace Engine.Ops.Profiling;

/// <summary>
/// A backend that times a phase inside its ops, so that <see cref="ProfilingOps"/> can split it out of the op's
/// family: the CPU convolutions' im2col/col2im (and the copies that lay groups of images side by side), charged to
/// <see cref="OpFamily.Im2Col"/> instead of ConvForward/ConvBackward.
/// </summary>
public interface IPhaseTimer
{
    /// <summary>
    /// Seconds and bytes (read + written) of im2col/col2im since the backend was made. Wall time: where parallel
    /// lanes each run their own, their seconds are summed and divided by the number of lanes.
    /// </summary>
    (double Seconds, double Bytes) Im2Col { get; }
}
