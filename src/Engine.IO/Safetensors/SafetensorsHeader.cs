using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Engine.IO.Safetensors;

/// <summary>
/// The parsed and validated header of a safetensors file:
/// <c>u64 N | N bytes of UTF-8 JSON | data</c>, where the JSON is
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}</c>.
/// Validation follows the reference implementation (huggingface/safetensors, <c>Metadata::validate</c>):
/// sorted by offsets, every tensor starts where the previous one ended, its byte count is
/// shape x dtype size, and the last one ends exactly at the end of the file (no holes, no overlaps, no tail).
/// On top of that the JSON is read strictly: duplicate names or fields, unknown fields, non-integer numbers
/// and non-string metadata are errors rather than silently accepted.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The reference implementation's limit; a larger header is treated as hostile.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    private SafetensorsHeader(long headerLength, long fileLength, SafetensorsTensorInfo[] tensors, Dictionary<string, string> metadata)
    {
        HeaderLength = headerLength;
        FileLength = fileLength;
        Tensors = tensors;
        Metadata = metadata;
        _byName = new Dictionary<string, SafetensorsTensorInfo>(tensors.Length, StringComparer.Ordinal);
        foreach (var t in tensors) _byName.Add(t.Name, t);
    }

    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    /// <summary>N, the JSON byte count (spaces padding included).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute position of the data buffer: 8 + N.</summary>
    public long DataStart => 8 + HeaderLength;

    public long FileLength { get; }

    public long DataLength => FileLength - DataStart;

    /// <summary>Every tensor, in ordinal name order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary><c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGet(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>
    /// Reads the length prefix. <paramref name="prefix"/> holds the first min(8, file length) bytes.
    /// Returns N after checking it against the limit and the file length.
    /// </summary>
    public static long ReadHeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string path)
    {
        if (fileLength < 8 || prefix.Length < 8)
            throw new SafetensorsException(path, null, $"file is {fileLength} bytes, shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes)
            throw new SafetensorsException(path, null, $"header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)n > fileLength - 8)
            throw new SafetensorsException(path, null, $"header length {n} runs past the end of the file ({fileLength} bytes)");
        return (long)n;
    }

    /// <summary>Parses and validates the header JSON (the N bytes after the length prefix).</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long fileLength, string path)
    {
        long headerLength = json.Length;
        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;
        if (dataLength < 0)
            throw new SafetensorsException(path, null, $"header length {headerLength} runs past the end of the file ({fileLength} bytes)");
        if (!Utf8.IsValid(json))
            throw new SafetensorsException(path, null, "header is not valid UTF-8");

        var entries = new List<SafetensorsTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawMetadata = false;

        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = 8,
        });
        string? current = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new SafetensorsException(path, null, "header is not a JSON object");
            while (true)
            {
                Next(ref reader, path, current);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                // The only other token the reader allows here is a property name.
                current = reader.GetString()!;
                if (current == MetadataKey)
                {
                    if (sawMetadata) throw new SafetensorsException(path, MetadataKey, "appears twice in the header");
                    sawMetadata = true;
                    ReadMetadata(ref reader, metadata, path);
                }
                else
                {
                    if (!names.Add(current)) throw new SafetensorsException(path, current, "tensor name appears twice in the header");
                    entries.Add(ReadTensor(ref reader, current, dataStart, path));
                }
                current = null;
            }
            // Only whitespace (the padding) may follow the object; the reader throws on anything else.
            if (reader.Read())
                throw new SafetensorsException(path, null, $"unexpected {reader.TokenType} after the header object");
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(path, current, $"header is not valid JSON (byte {reader.BytesConsumed}): {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // GetString on a string whose escapes do not decode (e.g. a lone surrogate "\ud800").
            throw new SafetensorsException(path, current, $"header holds an invalid string: {e.Message}", e);
        }

        ValidateLayout(entries, dataLength, path);
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new SafetensorsHeader(headerLength, fileLength, entries.ToArray(), metadata);
    }

    // Reads the next token, turning the end of the input into a clear error.
    private static void Next(ref Utf8JsonReader reader, string path, string? field)
    {
        if (!reader.Read()) throw new SafetensorsException(path, field, "header JSON ends early");
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string path)
    {
        Next(ref reader, path, MetadataKey);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsException(path, MetadataKey, $"must be an object of strings, found {reader.TokenType}");
        while (true)
        {
            Next(ref reader, path, MetadataKey);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string key = reader.GetString()!;
            Next(ref reader, path, MetadataKey);
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsException(path, $"{MetadataKey}.{key}", $"metadata values must be strings, found {reader.TokenType}");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw new SafetensorsException(path, $"{MetadataKey}.{key}", "metadata key appears twice");
        }
    }

    private static SafetensorsTensorInfo ReadTensor(ref Utf8JsonReader reader, string name, long dataStart, string path)
    {
        Next(ref reader, path, name);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsException(path, name, $"tensor entry must be an object, found {reader.TokenType}");

        SafetensorsDType? dtype = null;
        List<long>? shape = null;
        long begin = -1, end = -1;
        bool sawOffsets = false;
        while (true)
        {
            Next(ref reader, path, name);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.ValueTextEquals("dtype"u8))
            {
                if (dtype is not null) throw new SafetensorsException(path, name, "field 'dtype' appears twice");
                Next(ref reader, path, name);
                if (reader.TokenType != JsonTokenType.String)
                    throw new SafetensorsException(path, name, $"'dtype' must be a string, found {reader.TokenType}");
                bool known = reader.ValueIsEscaped
                    ? SafetensorsDTypeInfo.TryParse(Encoding.UTF8.GetBytes(reader.GetString()!), out var t)
                    : SafetensorsDTypeInfo.TryParse(reader.ValueSpan, out t);
                if (!known) throw new SafetensorsException(path, name, $"unknown dtype \"{Clip(reader.GetString()!)}\"");
                dtype = t;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (shape is not null) throw new SafetensorsException(path, name, "field 'shape' appears twice");
                shape = [];
                Next(ref reader, path, name);
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new SafetensorsException(path, name, $"'shape' must be an array of integers, found {reader.TokenType}");
                while (true)
                {
                    Next(ref reader, path, name);
                    if (reader.TokenType == JsonTokenType.EndArray) break;
                    shape.Add(ReadNonNegative(ref reader, path, name, $"shape[{shape.Count}]"));
                }
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                if (sawOffsets) throw new SafetensorsException(path, name, "field 'data_offsets' appears twice");
                sawOffsets = true;
                Next(ref reader, path, name);
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new SafetensorsException(path, name, $"'data_offsets' must be an array [begin, end], found {reader.TokenType}");
                Next(ref reader, path, name);
                if (reader.TokenType == JsonTokenType.EndArray)
                    throw new SafetensorsException(path, name, "'data_offsets' must hold 2 integers, found 0");
                begin = ReadNonNegative(ref reader, path, name, "data_offsets[0]");
                Next(ref reader, path, name);
                if (reader.TokenType == JsonTokenType.EndArray)
                    throw new SafetensorsException(path, name, "'data_offsets' must hold 2 integers, found 1");
                end = ReadNonNegative(ref reader, path, name, "data_offsets[1]");
                Next(ref reader, path, name);
                if (reader.TokenType != JsonTokenType.EndArray)
                    throw new SafetensorsException(path, name, "'data_offsets' must hold 2 integers, found more");
            }
            else
            {
                throw new SafetensorsException(path, name, $"unknown field \"{Clip(reader.GetString()!)}\" (expected dtype, shape, data_offsets)");
            }
        }
        if (dtype is null) throw new SafetensorsException(path, name, "missing field 'dtype'");
        if (shape is null) throw new SafetensorsException(path, name, "missing field 'shape'");
        if (!sawOffsets) throw new SafetensorsException(path, name, "missing field 'data_offsets'");

        // Like the reference: the product must not overflow at any step, and neither must bytes.
        long numel = 1;
        foreach (long d in shape)
        {
            if (d != 0 && numel > long.MaxValue / d)
                throw new SafetensorsException(path, name, $"shape [{string.Join(", ", shape)}] overflows a 64-bit element count");
            numel *= d;
        }
        int size = dtype.Value.SizeOf();
        if (numel > long.MaxValue / size)
            throw new SafetensorsException(path, name, $"shape [{string.Join(", ", shape)}] of {dtype} overflows a 64-bit byte count");
        if (begin > end)
            throw new SafetensorsException(path, name, $"data_offsets [{begin}, {end}]: begin is after end");
        if (end - begin != numel * size)
            throw new SafetensorsException(path, name,
                $"data_offsets [{begin}, {end}] span {end - begin} bytes, but {dtype}[{string.Join(", ", shape)}] needs {numel * size}");
        return new SafetensorsTensorInfo(name, dtype.Value, shape.ToArray(), numel, begin, end, dataStart);
    }

    // A JSON number that is a non-negative integer fitting in a long: no fraction, no exponent, no sign.
    private static long ReadNonNegative(ref Utf8JsonReader reader, string path, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.Number)
            throw new SafetensorsException(path, name, $"{field} must be a non-negative integer, found {reader.TokenType}");
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny("-.eE"u8) >= 0 || !reader.TryGetInt64(out long v))
            throw new SafetensorsException(path, name, $"{field} must be a non-negative integer below 2^63, found {Clip(Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 64)]))}");
        return v;
    }

    // Hostile headers can hold megabyte-long strings: keep messages short.
    internal static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "...";

    // Every byte of the data buffer belongs to exactly one tensor, in offset order.
    private static void ValidateLayout(List<SafetensorsTensorInfo> entries, long dataLength, string path)
    {
        var byOffset = entries.ToArray();
        Array.Sort(byOffset, (a, b) => a.DataBegin != b.DataBegin ? a.DataBegin.CompareTo(b.DataBegin) : a.DataEnd.CompareTo(b.DataEnd));
        long expected = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (var t in byOffset)
        {
            if (t.DataEnd > dataLength)
                throw new SafetensorsException(path, t.Name,
                    $"data_offsets [{t.DataBegin}, {t.DataEnd}] run past the end of the data ({dataLength} bytes; file truncated?)");
            if (t.DataBegin < expected)
                throw new SafetensorsException(path, t.Name,
                    $"data_offsets [{t.DataBegin}, {t.DataEnd}] overlap '{previous!.Name}' [{previous.DataBegin}, {previous.DataEnd}]");
            if (t.DataBegin > expected)
                throw new SafetensorsException(path, t.Name,
                    $"data_offsets [{t.DataBegin}, {t.DataEnd}] leave a hole: bytes [{expected}, {t.DataBegin}) belong to no tensor");
            expected = t.DataEnd;
            previous = t;
        }
        if (expected != dataLength)
            throw new SafetensorsException(path, previous?.Name,
                $"tensors cover {expected} bytes but the data is {dataLength} bytes: the file has {dataLength - expected} unused trailing bytes");
    }
}
