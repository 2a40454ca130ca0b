using Engine.Tensors;

namespace Engine.Memory;

/// <summary>
/// A bump allocator over large blocks: tensors are handed out by advancing an offset, a mark rewinds to an earlier
/// offset, and blocks are kept until <see cref="Dispose"/>. A run sizes its arenas once (parameters, gradients,
/// optimizer state, activations) and then only rewinds them, so the hot path never allocates. Host memory
/// (<see cref="NativeArena"/>) and device memory differ only in how a block is obtained, freed and zeroed.
/// </summary>
public abstract class BlockArena : ITensorArena, IDisposable
{
    private readonly List<(nint Ptr, long Size)> _blocks = [];
    private readonly long _blockSize;
    private readonly int _alignment;
    private readonly Device _device;
    private int _current;
    private long _offset;
    private long _used;
    private bool _disposed;

    /// <param name="blockSize">Bytes per block; a larger request gets a block of its own size.</param>
    /// <param name="alignment">Alignment of every tensor, a power of two.</param>
    /// <param name="device">The device the tensors are marked with.</param>
    protected BlockArena(long blockSize, int alignment, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "must be a power of two");
        _blockSize = blockSize;
        _alignment = alignment;
        _device = device;
    }

    /// <summary>Bytes handed out since the last reset.</summary>
    public long Used => _used;

    /// <summary>Largest <see cref="Used"/> seen.</summary>
    public long Peak { get; private set; }

    /// <summary>Bytes of memory held.</summary>
    public long Reserved { get; private set; }

    /// <summary>A block of <paramref name="size"/> bytes aligned to the arena's alignment; throws when there is none.</summary>
    protected abstract nint AllocateBlock(long size);

    protected abstract void FreeBlock(nint ptr);

    protected abstract void Zero(nint ptr, long bytes);

    /// <summary>Host → this memory, <paramref name="bytes"/> bytes.</summary>
    protected abstract unsafe void CopyIn(nint dst, void* src, long bytes);

    /// <summary>This memory → host, after the work queued before it.</summary>
    protected abstract unsafe void CopyOut(void* dst, nint src, long bytes);

    public Device Device => _device;

    public unsafe void Write<T>(Tensor dst, ReadOnlySpan<T> src) where T : unmanaged
    {
        long bytes = CheckTransfer(dst, nameof(dst), src.Length, sizeof(T));
        fixed (T* p = src) CopyIn(dst.Ptr, p, bytes);
    }

    public unsafe void Read<T>(Span<T> dst, Tensor src) where T : unmanaged
    {
        long bytes = CheckTransfer(src, nameof(src), dst.Length, sizeof(T));
        fixed (T* p = dst) CopyOut(p, src.Ptr, bytes);
    }

    private long CheckTransfer(Tensor t, string name, int count, int elementSize)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None", name);
        if (t.Device != _device) throw new ArgumentException($"{name} {t} is not in this {_device} arena's memory", name);
        long bytes = t.Numel * t.DType.SizeOf();
        if ((long)count * elementSize != bytes)
            throw new ArgumentException($"{name} {t} holds {bytes} bytes, the host buffer {(long)count * elementSize}", name);
        return bytes;
    }

    public Tensor Alloc(Shape shape, DType dtype = DType.F32, bool zero = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long bytes = checked(shape.Numel * dtype.SizeOf());
        long rounded = (Math.Max(bytes, 1) + _alignment - 1) & ~(long)(_alignment - 1);
        while (_current < _blocks.Count && _offset + rounded > _blocks[_current].Size)
        {
            _current++;
            _offset = 0;
        }
        if (_current == _blocks.Count)
        {
            long size = Math.Max(_blockSize, rounded);
            _blocks.Add((AllocateBlock(size), size));
            Reserved += size;
            _offset = 0;
        }
        nint ptr = _blocks[_current].Ptr + (nint)_offset;
        _offset += rounded;
        _used += rounded;
        Peak = Math.Max(Peak, _used);
        if (zero) Zero(ptr, bytes);
        return new Tensor(ptr, shape, dtype, _device);
    }

    public Tensor Alloc(params ReadOnlySpan<int> dims) => Alloc(new Shape(dims));

    public ArenaMark Mark() => new(_current, _offset, _used);

    public void Release(ArenaMark mark)
    {
        if (mark.Used > _used) throw new InvalidOperationException("arena mark released out of order");
        _current = mark.Block;
        _offset = mark.Offset;
        _used = mark.Used;
    }

    /// <summary>Rewinds to empty; memory is kept for reuse.</summary>
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
        foreach (var (ptr, _) in _blocks) FreeBlock(ptr);
        _blocks.Clear();
        GC.SuppressFinalize(this);
    }
}
