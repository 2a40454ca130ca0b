namespace Engine.Cuda.Ops;

/// <summary>
/// The live allocations of one <see cref="IDeviceMemory"/> with their sizes, so it can report the bytes it holds and
/// their peak (the report's "device memory peak"). Thread-safe; frees of unknown pointers are refused.
/// </summary>
internal sealed class AllocationMeter
{
    private readonly Dictionary<nint, long> _live = [];
    private long _inUse, _peak;

    public long InUse
    {
        get
        {
            lock (_live) return _inUse;
        }
    }

    public long Peak
    {
        get
        {
            lock (_live) return _peak;
        }
    }

    public void Add(nint ptr, long bytes)
    {
        lock (_live)
        {
            _live.Add(ptr, bytes);
            _inUse += bytes;
            _peak = Math.Max(_peak, _inUse);
        }
    }

    /// <summary>Forgets <paramref name="ptr"/>; false when it is not a live allocation.</summary>
    public bool Remove(nint ptr)
    {
        lock (_live)
        {
            if (!_live.Remove(ptr, out long bytes)) return false;
            _inUse -= bytes;
            return true;
        }
    }

    /// <summary>Every live pointer, forgotten (for a disposal that frees them all).</summary>
    public nint[] Clear()
    {
        lock (_live)
        {
            var all = _live.Keys.ToArray();
            _live.Clear();
            _inUse = 0;
            return all;
        }
    }
}
