using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.IO.Safetensors;

/// <summary>
/// Collects tensors, then <see cref="Save"/> writes them as one safetensors file:
/// tensors in ordinal name order, packed back to back from offset 0, <c>__metadata__</c> last when not empty (keys in ordinal order),
/// the header padded with spaces to a multiple of 8 bytes (so the data starts 8-byte aligned).
/// The file is written to a temporary file in the destination folder, flushed, then renamed over the
/// destination, so a reader never sees a half-written file; on failure the temporary file is deleted.
/// Tensors added by <see cref="Tensor"/> view are read at <see cref="Save"/> time: keep their memory alive until then.
/// </summary>
public sealed class SafetensorsWriter
{
    private sealed class Entry
    {
        public required string Name;
        public required SafetensorsDType StoreAs;
        public required long[] Shape;
        public required long Numel;
        public nint Ptr;            // a CPU tensor (F32, I32, or raw bytes of the stored dtype)
        public DType PtrType;
        public float[]? Floats;
        public byte[]? Raw;
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Written as <c>__metadata__</c> (string to string), omitted when empty.</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    /// <summary>Test hook: called with each tensor's name before its data is written (to inject failures).</summary>
    internal Action<string>? BeforeTensorData { get; set; }

    /// <summary>
    /// Adds a CPU tensor. F32 tensors are stored as F32, F16 or BF16 (rounded to nearest even);
    /// I32 tensors as I32 or I64; F16/BF16 tensors as themselves.
    /// </summary>
    public void Add(string name, Tensor tensor, SafetensorsDType storeAs = SafetensorsDType.F32)
    {
        if (tensor.IsNone) throw new ArgumentException($"'{name}' is None", nameof(tensor));
        if (tensor.Device != Device.Cpu) throw new ArgumentException($"'{name}' is on {tensor.Device}; copy it to the CPU first", nameof(tensor));
        bool ok = (tensor.DType, storeAs) switch
        {
            (DType.F32, SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16) => true,
            (DType.I32, SafetensorsDType.I32 or SafetensorsDType.I64) => true,
            (DType.F16, SafetensorsDType.F16) or (DType.BF16, SafetensorsDType.BF16) => true,
            _ => false,
        };
        if (!ok) throw new ArgumentException($"'{name}': cannot store a {tensor.DType} tensor as {storeAs}", nameof(storeAs));
        var shape = new long[tensor.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = tensor.Dim(i);
        AddEntry(new Entry { Name = name, StoreAs = storeAs, Shape = shape, Numel = tensor.Numel, Ptr = tensor.Ptr, PtrType = tensor.DType });
    }

    /// <summary>
    /// Adds an F32 tensor of <paramref name="memory"/>: a host tensor is read when the file is saved, a device tensor
    /// is copied to the host now.
    /// </summary>
    public void Add(string name, Tensor tensor, ITensorAllocator memory, SafetensorsDType storeAs = SafetensorsDType.F32)
    {
        if (tensor.Device == Device.Cpu || tensor.IsNone)
        {
            Add(name, tensor, storeAs);
            return;
        }
        if (tensor.DType != DType.F32) throw new ArgumentException($"'{name}': only f32 device tensors can be saved, got {tensor}", nameof(tensor));
        var shape = new long[tensor.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = tensor.Dim(i);
        Add(name, memory.ToArray(tensor), shape, storeAs);
    }

    /// <summary>Adds managed f32 values, stored as F32, F16 or BF16.</summary>
    public void Add(string name, float[] values, ReadOnlySpan<long> shape, SafetensorsDType storeAs = SafetensorsDType.F32)
    {
        if (storeAs is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16))
            throw new ArgumentException($"'{name}': f32 values are stored as F32, F16 or BF16, not {storeAs}", nameof(storeAs));
        long numel = Numel(name, shape);
        if (values.Length != numel)
            throw new ArgumentException($"'{name}': {values.Length} values for shape [{string.Join(", ", shape.ToArray())}] ({numel} elements)", nameof(values));
        AddEntry(new Entry { Name = name, StoreAs = storeAs, Shape = shape.ToArray(), Numel = numel, Floats = values });
    }

    /// <summary>Adds bytes already in the stored format (little-endian), of any dtype.</summary>
    public void AddRaw(string name, SafetensorsDType dtype, ReadOnlySpan<long> shape, byte[] bytes)
    {
        long numel = Numel(name, shape);
        if (bytes.LongLength != numel * dtype.SizeOf())
            throw new ArgumentException($"'{name}': {bytes.Length} bytes for {dtype}[{string.Join(", ", shape.ToArray())}] ({numel * dtype.SizeOf()} expected)", nameof(bytes));
        AddEntry(new Entry { Name = name, StoreAs = dtype, Shape = shape.ToArray(), Numel = numel, Raw = bytes });
    }

    private static long Numel(string name, ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"'{name}': negative dimension {d}", nameof(shape));
            n = checked(n * d);
        }
        return n;
    }

    private void AddEntry(Entry e)
    {
        ArgumentNullException.ThrowIfNull(e.Name);
        if (e.Name == SafetensorsHeader.MetadataKey) throw new ArgumentException($"'{e.Name}' is reserved for metadata");
        if (!_entries.TryAdd(e.Name, e)) throw new ArgumentException($"'{e.Name}' was already added");
    }

    /// <summary>The header JSON, padded with spaces to a multiple of 8 bytes, for entries in name order.</summary>
    private byte[] BuildHeader(Entry[] ordered)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            long offset = 0;
            foreach (var e in ordered)
            {
                long bytes = e.Numel * e.StoreAs.SizeOf();
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.StoreAs.Name());
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            // Last, as in the fixtures (written by the Python tooling): rewriting a fixture reproduces it byte for byte.
            if (Metadata.Count > 0)
            {
                w.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (k, v) in Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    /// <summary>Writes the file atomically (temporary file + rename); errors are <see cref="SafetensorsException"/>s.</summary>
    public void Save(string path)
    {
        var ordered = _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToArray();
        byte[] header = BuildHeader(ordered);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> n = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)header.Length);
                fs.Write(n);
                fs.Write(header);
                foreach (var e in ordered)
                {
                    BeforeTensorData?.Invoke(e.Name);
                    WriteData(fs, e);
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception ex)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (ex is IOException or UnauthorizedAccessException)
                throw new SafetensorsException(path, null, $"cannot write: {ex.Message}", ex);
            throw;
        }
    }

    private const int Chunk = 1 << 16; // elements converted per step: bounded scratch whatever the tensor size

    private static unsafe void WriteData(FileStream fs, Entry e)
    {
        if (e.Raw is not null)
        {
            fs.Write(e.Raw);
            return;
        }
        int outSize = e.StoreAs.SizeOf();
        int inSize = e.Floats is not null ? 4 : e.PtrType.SizeOf();
        byte[] scratch = new byte[Chunk * outSize];
        for (long start = 0; start < e.Numel; start += Chunk)
        {
            int count = (int)Math.Min(Chunk, e.Numel - start);
            ReadOnlySpan<byte> src = e.Floats is not null
                ? MemoryMarshal.AsBytes(e.Floats.AsSpan((int)start, count))
                : new ReadOnlySpan<byte>((byte*)e.Ptr + start * inSize, count * inSize);
            var dst = scratch.AsSpan(0, count * outSize);
            bool isFloat = e.Floats is not null || e.PtrType == DType.F32;
            switch (e.StoreAs)
            {
                case SafetensorsDType.F16 when isFloat: FloatConvert.F32ToF16(MemoryMarshal.Cast<byte, float>(src), dst); break;
                case SafetensorsDType.BF16 when isFloat: FloatConvert.F32ToBF16(MemoryMarshal.Cast<byte, float>(src), dst); break;
                case SafetensorsDType.I64:
                    {
                        var s = MemoryMarshal.Cast<byte, int>(src);
                        var d = MemoryMarshal.Cast<byte, long>(dst);
                        for (int i = 0; i < count; i++) d[i] = s[i];
                        break;
                    }
                default: src.CopyTo(dst); break; // same format in and out
            }
            fs.Write(dst);
        }
    }
}
