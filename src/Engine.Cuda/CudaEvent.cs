using Engine.Cuda.Interop;

namespace Engine.Cuda;

/// <summary>A CUDA event for timing work on a stream: Record, then <see cref="ElapsedMs"/> against an earlier one.</summary>
public sealed unsafe class CudaEvent : IDisposable
{
    private nint _event;

    public CudaEvent()
    {
        nint e;
        CuDriver.Check(CuDriver.cuEventCreate(&e, CuDriver.EventDefault), "cuEventCreate");
        _event = e;
    }

    public void Record(nint stream) => CuDriver.Check(CuDriver.cuEventRecord(_event, stream), "cuEventRecord");

    /// <summary>Milliseconds from <paramref name="start"/> to this event (waits for this one).</summary>
    public float ElapsedMs(CudaEvent start)
    {
        CuDriver.Check(CuDriver.cuEventSynchronize(_event), "cuEventSynchronize");
        float ms;
        CuDriver.Check(CuDriver.cuEventElapsedTime(&ms, start._event, _event), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        if (_event != 0) _ = CuDriver.cuEventDestroy_v2(_event);
        _event = 0;
    }
}
