using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Engine.IO.Safetensors;
using Xunit.Abstractions;

namespace Engine.Tests.IO;

/// <summary>
/// Mutation fuzzing of the reader: start from valid files, break them in many ways, and require that every
/// outcome is either a clean parse whose tensors lie inside the file (and convert without trouble) or a
/// <see cref="SafetensorsException"/>. Any other exception fails the test and prints the seed and iteration.
/// DOCO_FUZZ_ITERATIONS sets the iteration count (default 3000), DOCO_FUZZ_SEED the seed (default 20240607).
/// </summary>
public partial class SafetensorsFuzzTests(ITestOutputHelper output)
{
    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v > 0 ? v : fallback;

    [Fact]
    public void Fuzz_MutatedFiles_ParseOrThrowSafetensorsException()
    {
        int iterations = EnvInt("DOCO_FUZZ_ITERATIONS", 3000);
        int seed = EnvInt("DOCO_FUZZ_SEED", 20240607);
        byte[][] seeds =
        [
            SafetensorsTestFiles.MixedFile(1),
            SafetensorsTestFiles.MixedFile(2),
            File.ReadAllBytes(SafetensorsTestFiles.TinySd("text_encoder", "model.safetensors")),
        ];
        using var dir = new TempDir();
        string path = dir.File("fuzz.safetensors");
        int parsed = 0, rejected = 0;
        for (int it = 0; it < iterations; it++)
        {
            var rng = new System.Random(HashCode.Combine(seed, it));
            byte[] file = seeds[rng.Next(seeds.Length)];
            string kind = "";
            try
            {
                (file, kind) = Mutate(file, rng);
                // Mostly in memory (fast); every 16th through a real file and the memory map.
                bool onDisk = it % 16 == 0;
                if (onDisk) File.WriteAllBytes(path, file);
                using var r = onDisk ? SafetensorsReader.Open(path) : SafetensorsReader.FromBytes(file, "fuzz");
                Exercise(r, file.Length);
                parsed++;
            }
            catch (SafetensorsException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed} iteration {it} ({kind}): {e.GetType().Name}: {e.Message}\n" +
                    $"reproduce with DOCO_FUZZ_SEED={seed} DOCO_FUZZ_ITERATIONS={it + 1}\n{e}");
            }
        }
        output.WriteLine($"seed {seed}: {iterations} iterations, {parsed} parsed, {rejected} rejected");
        // Both outcomes must actually occur, or the mutations are too weak (or too strong) to test anything.
        Assert.True(parsed > iterations / 50, $"only {parsed} mutated files parsed");
        Assert.True(rejected > iterations / 2, $"only {rejected} mutated files were rejected");
    }

    // A parsed file must be self-consistent: every tensor inside the file, every accessor working.
    private static void Exercise(SafetensorsReader r, long fileLength)
    {
        long end = r.Header.DataStart;
        foreach (var t in r.Tensors)
        {
            Assert.InRange(t.FileOffset, r.Header.DataStart, fileLength);
            Assert.InRange(t.FileOffset + t.ByteLength, t.FileOffset, fileLength);
            Assert.Equal(t.Numel * t.DType.SizeOf(), t.ByteLength);
            end = Math.Max(end, t.FileOffset + t.ByteLength);
            Assert.Equal(t.ByteLength, r.RawBytes(t.Name).Length);
            if (t.DType.IsFloat())
            {
                var f = new float[t.Numel];
                r.ReadF32(t.Name, f);
            }
            else if (t.DType.IsInteger())
            {
                var n = new int[t.Numel];
                r.ReadI32(t.Name, n); // may throw SafetensorsException (out of int32 range): allowed
            }
            if (t.DType == SafetensorsDType.F32 && t.Rank <= Engine.Tensors.Shape.MaxRank)
                Assert.Equal(t.Numel, r.F32Span(t.Name).Length);
        }
        Assert.Equal(fileLength, end);
    }

    private static (byte[] File, string Kind) Mutate(byte[] original, System.Random rng)
    {
        byte[] f = (byte[])original.Clone();
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(f);
        int headerEnd = (int)(8 + n);
        int rounds = 1 + (rng.Next(4) == 0 ? rng.Next(3) : 0);
        var kinds = new List<string>();
        for (int round = 0; round < rounds; round++)
        {
            int kind = rng.Next(9);
            switch (kind)
            {
                case 0: // bit flips in the header
                    kinds.Add("header bit flip");
                    for (int i = rng.Next(1, 4); i > 0; i--)
                    {
                        int at = 8 + rng.Next(Math.Max(1, Math.Min(headerEnd, f.Length) - 8));
                        if (at < f.Length) f[at] ^= (byte)(1 << rng.Next(8));
                    }
                    break;
                case 1: // bit flips in the data: must still parse
                    kinds.Add("data bit flip");
                    if (f.Length > headerEnd) f[headerEnd + rng.Next(f.Length - headerEnd)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2: // truncation
                    kinds.Add("truncation");
                    f = f[..rng.Next(f.Length)];
                    break;
                case 3: // header length edits
                    {
                        kinds.Add("length edit");
                        if (f.Length < 8) break;
                        long[] candidates = [n + rng.Next(-16, 17), 0, f.Length, f.Length - 8, long.MaxValue, -1, 100_000_001, rng.NextInt64()];
                        BinaryPrimitives.WriteInt64LittleEndian(f, candidates[rng.Next(candidates.Length)]);
                        break;
                    }
                case 4: // random bytes anywhere
                    kinds.Add("random bytes");
                    for (int i = rng.Next(1, 8); i > 0 && f.Length > 0; i--) f[rng.Next(f.Length)] = (byte)rng.Next(256);
                    break;
                default: // JSON-aware edits, then the length prefix is rewritten to match
                    {
                        if (f.Length < headerEnd || headerEnd < 8) { kinds.Add("skip"); break; }
                        string json = Encoding.UTF8.GetString(f, 8, (int)n);
                        (json, string what) = EditJson(json, rng);
                        kinds.Add(what);
                        byte[] h = Encoding.UTF8.GetBytes(json);
                        byte[] g = new byte[8 + h.Length + (f.Length - headerEnd)];
                        BinaryPrimitives.WriteUInt64LittleEndian(g, (ulong)h.Length);
                        h.CopyTo(g, 8);
                        f.AsSpan(headerEnd).CopyTo(g.AsSpan(8 + h.Length));
                        f = g;
                        n = h.Length;
                        headerEnd = 8 + h.Length;
                        break;
                    }
            }
        }
        return (f, string.Join(" + ", kinds));
    }

    [GeneratedRegex("-?[0-9]+")]
    private static partial Regex Number();

    [GeneratedRegex("\"data_offsets\":\\[[0-9]+,[0-9]+\\]")]
    private static partial Regex Offsets();

    [GeneratedRegex("\"[^\"]*\":\\{\"dtype\"[^}]*\\}")]
    private static partial Regex Entry();

    [GeneratedRegex("\"(F32|F16|BF16|I64|I32|BOOL|F64|U8)\"")]
    private static partial Regex DType();

    private static string[] BigNumbers =>
    [
        "-1", "0", "1", "99999999999999999999999999", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "-9223372036854775808", "1.5", "1e3", "-0", "4294967296", "2147483648", "null", "\"7\"",
    ];

    private static (string Json, string What) EditJson(string json, System.Random rng)
    {
        switch (rng.Next(8))
        {
            case 0:
                {
                    var ms = Number().Matches(json);
                    if (ms.Count == 0) return (json, "no number");
                    var m = ms[rng.Next(ms.Count)];
                    var nums = BigNumbers;
                    return (json[..m.Index] + nums[rng.Next(nums.Length)] + json[(m.Index + m.Length)..], "number edit");
                }
            case 1:
                {
                    var ms = Offsets().Matches(json);
                    if (ms.Count < 2) return (json, "no offsets");
                    int a = rng.Next(ms.Count), b = rng.Next(ms.Count);
                    if (a > b) (a, b) = (b, a);
                    if (a == b) return (json, "same offsets");
                    var ma = ms[a];
                    var mb = ms[b];
                    return (json[..ma.Index] + mb.Value + json[(ma.Index + ma.Length)..mb.Index] + ma.Value + json[(mb.Index + mb.Length)..], "swapped offsets");
                }
            case 2:
                {
                    var ms = Entry().Matches(json);
                    if (ms.Count == 0) return (json, "no entry");
                    var m = ms[rng.Next(ms.Count)];
                    return (json[..m.Index] + m.Value + "," + json[m.Index..], "duplicate key");
                }
            case 3:
                {
                    var ms = DType().Matches(json);
                    if (ms.Count == 0) return (json, "no dtype");
                    var m = ms[rng.Next(ms.Count)];
                    string[] types = ["\"F32\"", "\"F16\"", "\"I64\"", "\"U8\"", "\"F64\"", "\"X9\"", "3", "\"f32\""];
                    return (json[..m.Index] + types[rng.Next(types.Length)] + json[(m.Index + m.Length)..], "dtype edit");
                }
            case 4:
                {
                    int at = rng.Next(json.Length);
                    string[] junk = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\"x\":1,", "\"__metadata__\":{\"a\":1},", " "];
                    return (json[..at] + junk[rng.Next(junk.Length)] + json[at..], "json junk");
                }
            case 5:
                {
                    var ms = Entry().Matches(json);
                    if (ms.Count == 0) return (json, "no entry");
                    var m = ms[rng.Next(ms.Count)];
                    string[] fields = ["\"dtype\"", "\"shape\"", "\"data_offsets\""];
                    string field = fields[rng.Next(fields.Length)];
                    string edited = rng.Next(2) == 0
                        ? m.Value.Replace(field, "\"extra\"", StringComparison.Ordinal)
                        : m.Value.Replace("}", ",\"extra\":0}", StringComparison.Ordinal);
                    return (json[..m.Index] + edited + json[(m.Index + m.Length)..], "field edit");
                }
            case 6:
                {
                    int at = rng.Next(json.Length + 1), len = rng.Next(json.Length - at + 1);
                    return (json.Remove(at, Math.Min(len, 40)), "json cut");
                }
            default:
                return (json.Replace("\"format\":\"pt\"", rng.Next(2) == 0 ? "\"format\":1" : "\"format\":\"pt\",\"format\":\"pt\"", StringComparison.Ordinal), "metadata edit");
        }
    }
}
