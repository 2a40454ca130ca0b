namespace Engine.Memory;

/// <summary>
/// A backend whose tensors live where the process's resident set does not show them (a GPU's memory): how much of it
/// the engine holds. The CPU backend does not implement it, as its memory is the process's own.
/// </summary>
public interface IDeviceMemoryMeter
{
    /// <summary>Bytes of device memory the engine's own allocations hold now (not the driver's, cuBLAS's or NVRTC's).</summary>
    long DeviceBytesInUse { get; }

    /// <summary>The most <see cref="DeviceBytesInUse"/> has been since the backend was created.</summary>
    long DevicePeakBytes { get; }
}
