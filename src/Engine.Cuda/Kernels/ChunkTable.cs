using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>
/// The host-built work list of the deterministic segmented reductions (reduce.cu, surgery.cu): every segment cut
/// into chunks of at most <see cref="ChunkSize"/> elements, none crossing a segment boundary. The chunk size is a
/// constant, so the summation order — and the result bits — are the same on every GPU and launch configuration.
/// Upload the four arrays once per parameter layout; they do not change between steps.
/// </summary>
public sealed class ChunkTable
{
    public const int ChunkSize = 8192;

    public ChunkTable(SegmentTable segments, int chunkSize = ChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        var begin = new List<long>();
        var end = new List<long>();
        var segment = new List<int>();
        SegFirstChunk = new int[segments.Count + 1];
        for (int s = 0; s < segments.Count; s++)
        {
            SegFirstChunk[s] = begin.Count;
            for (long i = segments.Offsets[s]; i < segments.Offsets[s + 1]; i += chunkSize)
            {
                begin.Add(i);
                end.Add(Math.Min(i + chunkSize, segments.Offsets[s + 1]));
                segment.Add(s);
            }
        }
        SegFirstChunk[segments.Count] = begin.Count;
        ChunkBegin = [.. begin];
        ChunkEnd = [.. end];
        ChunkSegment = [.. segment];
        SegmentCount = segments.Count;
    }

    public long[] ChunkBegin { get; }

    public long[] ChunkEnd { get; }

    /// <summary>[segments + 1]: segment s owns chunks [SegFirstChunk[s], SegFirstChunk[s + 1]).</summary>
    public int[] SegFirstChunk { get; }

    public int[] ChunkSegment { get; }

    public int Count => ChunkBegin.Length;

    public int SegmentCount { get; }
}
