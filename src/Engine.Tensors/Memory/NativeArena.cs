using System.Runtime.InteropServices;
using Engine.Tensors;

namespace Engine.Memory;

/// <summary>
/// Host memory for tensors: 64-byte aligned native blocks, handed out by bumping a pointer.
/// A run sizes its arenas once (parameters, gradients, optimizer state, activations) and then
/// only rewinds them with <see cref="Reset"/>, so the hot path never allocates.
/// Blocks are freed in <see cref="Dispose"/>, never by a finalizer.
/// </summary>
public sealed unsafe class NativeArena : ITensorArena, IDisposable
{
    public const int Alignment = 64;

    private readonly List<(nint Ptr, long Size)> _blocks = [];
    private readonly long _blockSize;
    private int _current;
    private long _offset;
    private long _used;
    private bool _disposed;

    /// <param name="blockSize">Bytes per block; a larger request gets a block of its own size.</param>
    public NativeArena(long blockSize = 64L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        _blockSize = blockSize;
    }

    /// <summary>Bytes handed out since the last reset.</summary>
    public long Used => _used;

    /// <summary>Largest <see cref="Used"/> seen.</summary>
    public long Peak { get; private set; }

    /// <summary>Bytes of native memory held.</summary>
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
            long size = Math.Max(_blockSize, rounded);
            nint p = (nint)NativeMemory.AlignedAlloc((nuint)size, Alignment);
            if (p == 0) throw new OutOfMemoryException($"native arena could not allocate {size} bytes");
            _blocks.Add((p, size));
            Reserved += size;
            _offset = 0;
        }
        nint ptr = _blocks[_current].Ptr + (nint)_offset;
        _offset += rounded;
        _used += rounded;
        Peak = Math.Max(Peak, _used);
        if (zero) NativeMemory.Clear((void*)ptr, (nuint)bytes);
        return new Tensor(ptr, shape, dtype, Device.Cpu);
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
        foreach (var (ptr, _) in _blocks) NativeMemory.AlignedFree((void*)ptr);
        _blocks.Clear();
    }
}
