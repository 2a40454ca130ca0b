namespace Engine.Tensors;

/// <summary>Where a tensor's bytes live. A CUDA pointer is a device address, never dereferenced on the host.</summary>
public enum Device : byte
{
    Cpu,
    Cuda,
}
