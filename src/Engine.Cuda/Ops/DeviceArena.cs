using Engine.Memory;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>
/// <see cref="NativeArena"/>'s bump allocator over device memory: the same blocks-and-rewind scheme, so Workspace,
/// ParameterStore and the models run unchanged on a GPU. Tensors are marked Device.Cuda; zeroing is a memset in
/// stream order. Blocks are freed in <see cref="Dispose"/>.
/// </summary>
public sealed class DeviceArena(IDeviceMemory memory, long blockSize = 256L << 20) : ITensorArena, IDisposable
{
    /// <summary>cudaMalloc's alignment; also keeps every tensor a whole number of 32-bit words for the memset.</summary>
    public const int Alignment = 256;

    private readonly List<(nint Ptr, long Size)> _blocks = [];
    private int _current;
    private long _offset;
    private long _used;
    private bool _disposed;

    public long Used => _used;

    public long Peak { get; private set; }

    public long Reserved { get; private set; }

    public Tensor Alloc(Shape shape, DType dtype = DType.F32, bool zero = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long bytes = checked(shape.Numel * dtype.SizeOf());
        long rounded = (Math.Max(bytes, 1) + Alignment - 1) & ~(long)(Alignment - 1);
        while (_current < _blocks.Count && _offset + rounded > _blocks[_current].Size)
        {
            _current++;
            _offset = 0;
        }
        if (_current == _blocks.Count)
        {
            long size = Math.Max(blockSize, rounded);
            _blocks.Add((memory.Alloc(size), size));
            Reserved += size;
            _offset = 0;
        }
        nint ptr = _blocks[_current].Ptr + (nint)_offset;
        _offset += rounded;
        _used += rounded;
        Peak = Math.Max(Peak, _used);
        if (zero) memory.Zero(ptr, (bytes + 3) & ~3L);
        return new Tensor(ptr, shape, dtype, Device.Cuda);
    }

    public ArenaMark Mark() => new(_current, _offset, _used);

    public void Release(ArenaMark mark)
    {
        if (mark.Used > _used) throw new InvalidOperationException("arena mark released out of order");
        _current = mark.Block;
        _offset = mark.Offset;
        _used = mark.Used;
    }

    public void Reset()
    {
        _current = 0;
        _offset = 0;
        _used = 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (ptr, _) in _blocks) memory.Free(ptr);
        _blocks.Clear();
    }
}
