using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.IO.Safetensors;

/// <summary>
/// A safetensors file, memory-mapped and validated on open (see <see cref="SafetensorsHeader"/> for the rules).
/// F32 tensors are exposed without a copy (<see cref="F32View"/>, <see cref="F32Span"/>): those views point into
/// the mapping and are valid until <see cref="Dispose"/>. The mapping is copy-on-write, so writing through a view
/// changes this process's copy only, never the file. Other dtypes are converted into caller-given memory
/// (<see cref="ReadF32(string, Span{float})"/>, <see cref="ReadI32(string, Span{int})"/>) or read raw (<see cref="RawBytes"/>).
/// </summary>
public sealed unsafe class SafetensorsReader : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private GCHandle _pin;
    private byte* _base;
    private bool _disposed;

    private SafetensorsReader(string path, byte* basePtr, SafetensorsHeader header, MemoryMappedFile? map, MemoryMappedViewAccessor? view, GCHandle pin)
    {
        FilePath = path;
        _base = basePtr;
        Header = header;
        _map = map;
        _view = view;
        _pin = pin;
    }

    /// <summary>The path given to <see cref="Open"/> (or the name given to <see cref="FromBytes"/>).</summary>
    public string FilePath { get; }

    public SafetensorsHeader Header { get; }

    /// <summary>Every tensor, in ordinal name order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors => Header.Tensors;

    /// <summary><c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>Maps and validates <paramref name="path"/>; any problem with the file is a <see cref="SafetensorsException"/>.</summary>
    public static SafetensorsReader Open(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(path, null, $"cannot open: {e.Message}", e);
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* basePtr = null;
        try
        {
            long length = stream.Length;
            // An empty file cannot be mapped; anything under 8 bytes is rejected before mapping.
            Span<byte> prefix = stackalloc byte[8];
            int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
            long n = SafetensorsHeader.ReadHeaderLength(prefix[..got], length, path);
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            basePtr += view.PointerOffset;
            var header = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(basePtr + 8, (int)n), length, path);
            return new SafetensorsReader(path, basePtr, header, map, view, default);
        }
        catch (Exception e)
        {
            if (basePtr != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (map is null) stream.Dispose();
            map?.Dispose();
            if (e is IOException or UnauthorizedAccessException)
                throw new SafetensorsException(path, null, $"cannot map: {e.Message}", e);
            throw;
        }
    }

    /// <summary>Reads a file held in memory (pinned until <see cref="Dispose"/>); <paramref name="name"/> labels errors.</summary>
    public static SafetensorsReader FromBytes(byte[] bytes, string name = "<memory>")
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian");
        long n = SafetensorsHeader.ReadHeaderLength(bytes.AsSpan(0, Math.Min(8, bytes.Length)), bytes.Length, name);
        var header = SafetensorsHeader.Parse(bytes.AsSpan(8, (int)n), bytes.Length, name);
        var pin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        return new SafetensorsReader(name, (byte*)pin.AddrOfPinnedObject(), header, null, null, pin);
    }

    public bool Contains(string name) => Header.TryGet(name, out _);

    /// <summary>The header entry of <paramref name="name"/>; a missing name is a <see cref="SafetensorsException"/>.</summary>
    public SafetensorsTensorInfo Info(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Header.TryGet(name, out var info)) throw new SafetensorsException(FilePath, name, "no such tensor in the file");
        return info;
    }

    /// <summary>Address of the tensor's first byte inside the mapping (valid until Dispose).</summary>
    public nint Address(string name) => (nint)(_base + Info(name).FileOffset);

    /// <summary>The tensor's stored bytes, little-endian, whatever the dtype.</summary>
    public ReadOnlySpan<byte> RawBytes(string name)
    {
        var info = Info(name);
        if (info.ByteLength > int.MaxValue)
            throw new SafetensorsException(FilePath, name, $"{info.ByteLength} bytes do not fit in one span");
        return new ReadOnlySpan<byte>(_base + info.FileOffset, (int)info.ByteLength);
    }

    /// <summary>Zero-copy view of an F32 tensor (shape must fit the engine's <see cref="Shape"/>).</summary>
    public Tensor F32View(string name)
    {
        var info = Require(name, SafetensorsDType.F32);
        return new Tensor((nint)(_base + info.FileOffset), info.ToShape(FilePath), DType.F32, Device.Cpu);
    }

    /// <summary>Zero-copy span over an F32 tensor.</summary>
    public ReadOnlySpan<float> F32Span(string name)
    {
        var info = Require(name, SafetensorsDType.F32);
        if (info.Numel > int.MaxValue)
            throw new SafetensorsException(FilePath, name, $"{info.Numel} elements do not fit in one span");
        return new ReadOnlySpan<float>(_base + info.FileOffset, (int)info.Numel);
    }

    /// <summary>Converts an F32/F16/BF16/F64 tensor into <paramref name="dst"/>, whose length must be the element count.</summary>
    public void ReadF32(string name, Span<float> dst)
    {
        var info = Info(name);
        if (dst.Length != info.Numel)
            throw new ArgumentException($"'{name}' {info.DType}{info.ShapeString()} has {info.Numel} elements, destination has {dst.Length}", nameof(dst));
        var src = RawBytes(name);
        switch (info.DType)
        {
            case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case SafetensorsDType.F16: FloatConvert.F16ToF32(src, dst); break;
            case SafetensorsDType.BF16: FloatConvert.BF16ToF32(src, dst); break;
            case SafetensorsDType.F64: FloatConvert.F64ToF32(src, dst); break;
            default: throw new SafetensorsException(FilePath, name, $"dtype {info.DType} is not a float type (F32, F16, BF16, F64)");
        }
    }

    /// <summary>Converts into an F32 CPU tensor with the same element count.</summary>
    public void ReadF32(string name, Tensor dst) => ReadF32(name, dst.AsSpan());

    /// <summary>
    /// Converts into an F32 tensor of <paramref name="memory"/>: straight into a host tensor, through one host copy
    /// and an upload into a device tensor.
    /// </summary>
    public void ReadF32(string name, Tensor dst, ITensorAllocator memory)
    {
        if (dst.Device == Device.Cpu)
        {
            ReadF32(name, dst);
            return;
        }
        var host = new float[dst.Numel];
        ReadF32(name, host);
        memory.Write<float>(dst, host);
    }

    /// <summary>Allocates an F32 tensor of the stored shape in <paramref name="arena"/> and converts into it.</summary>
    public Tensor LoadF32(string name, ITensorAllocator arena)
    {
        var info = Info(name);
        if (!info.DType.IsFloat())
            throw new SafetensorsException(FilePath, name, $"dtype {info.DType} is not a float type (F32, F16, BF16, F64)");
        var t = arena.Alloc(info.ToShape(FilePath), DType.F32, zero: false);
        ReadF32(name, t, arena);
        return t;
    }

    /// <summary>
    /// Converts an integer or BOOL tensor into <paramref name="dst"/>; a value outside the int32 range is a
    /// <see cref="SafetensorsException"/> naming the tensor and the element (the fixtures store ids as I64).
    /// </summary>
    public void ReadI32(string name, Span<int> dst)
    {
        var info = Info(name);
        if (dst.Length != info.Numel)
            throw new ArgumentException($"'{name}' {info.DType}{info.ShapeString()} has {info.Numel} elements, destination has {dst.Length}", nameof(dst));
        var src = RawBytes(name);
        switch (info.DType)
        {
            case SafetensorsDType.I32: MemoryMarshal.Cast<byte, int>(src).CopyTo(dst); break;
            case SafetensorsDType.BOOL:
            case SafetensorsDType.U8: for (int i = 0; i < dst.Length; i++) dst[i] = src[i]; break;
            case SafetensorsDType.I8: for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i]; break;
            case SafetensorsDType.I16: Widen(MemoryMarshal.Cast<byte, short>(src), dst); break;
            case SafetensorsDType.U16: Widen(MemoryMarshal.Cast<byte, ushort>(src), dst); break;
            case SafetensorsDType.U32: Narrow(MemoryMarshal.Cast<byte, uint>(src), dst, name); break;
            case SafetensorsDType.I64: Narrow(MemoryMarshal.Cast<byte, long>(src), dst, name); break;
            case SafetensorsDType.U64: Narrow(MemoryMarshal.Cast<byte, ulong>(src), dst, name); break;
            default: throw new SafetensorsException(FilePath, name, $"dtype {info.DType} is not an integer type");
        }
    }

    /// <summary>Allocates an I32 tensor of the stored shape in <paramref name="arena"/> and converts into it.</summary>
    public Tensor LoadI32(string name, ITensorAllocator arena)
    {
        var info = Info(name);
        if (!info.DType.IsInteger())
            throw new SafetensorsException(FilePath, name, $"dtype {info.DType} is not an integer type");
        var host = new int[info.Numel];
        ReadI32(name, host);
        return arena.Upload(host, info.ToShape(FilePath));
    }

    private static void Widen<T>(ReadOnlySpan<T> src, Span<int> dst) where T : struct, System.Numerics.IBinaryInteger<T>
    {
        for (int i = 0; i < src.Length; i++) dst[i] = int.CreateTruncating(src[i]);
    }

    private void Narrow<T>(ReadOnlySpan<T> src, Span<int> dst, string name) where T : struct, System.Numerics.IBinaryInteger<T>
    {
        for (int i = 0; i < src.Length; i++)
        {
            // Every stored integer type fits in Int128 exactly, so one comparison covers signed and unsigned.
            var v = Int128.CreateTruncating(src[i]);
            if (v < int.MinValue || v > int.MaxValue)
                throw new SafetensorsException(FilePath, name, $"element {i} = {v} is outside the int32 range");
            dst[i] = (int)v;
        }
    }

    private SafetensorsTensorInfo Require(string name, SafetensorsDType dtype)
    {
        var info = Info(name);
        if (info.DType != dtype)
            throw new SafetensorsException(FilePath, name, $"is {info.DType}, a zero-copy view needs {dtype}; use ReadF32 to convert");
        return info;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        if (_pin.IsAllocated) _pin.Free();
        _base = null;
    }
}
