using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>
/// The deterministic reductions (kernels/reduce.cu) and DoCo's gradient surgery (kernels/surgery.cu), both over a
/// <see cref="ChunkTable"/> uploaded once per segment table (or per length, for whole-tensor sums) and kept.
/// </summary>
public sealed partial class CudaOps
{
    private readonly Dictionary<SegmentTable, DeviceChunks> _segmentChunks = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<long, DeviceChunks> _wholeChunks = [];

    public void Sum(Tensor result, Tensor x)
    {
        Check.Numel(result, 1, nameof(result));
        Reduce(result, F(x, nameof(x)), F(x, nameof(x)), Whole(x.Numel), ReduceKernels.ModeSum);
    }

    public void SumSquares(Tensor result, Tensor x)
    {
        Check.Numel(result, 1, nameof(result));
        Reduce(result, F(x, nameof(x)), F(x, nameof(x)), Whole(x.Numel), ReduceKernels.ModeDot);
    }

    public void Dot(Tensor result, Tensor a, Tensor b)
    {
        Check.SameShape(a, b, nameof(a), nameof(b));
        Check.Numel(result, 1, nameof(result));
        Reduce(result, F(a, nameof(a)), F(b, nameof(b)), Whole(a.Numel), ReduceKernels.ModeDot);
    }

    public void SegmentSumSquares(Tensor result, Tensor x, SegmentTable segments)
    {
        CheckSegments(x, segments, nameof(x));
        Check.Numel(result, segments.Count, nameof(result));
        Reduce(result, F(x, nameof(x)), F(x, nameof(x)), Chunks(segments), ReduceKernels.ModeDot);
    }

    public void SegmentDot(Tensor result, Tensor a, Tensor b, SegmentTable segments)
    {
        Check.SameShape(a, b, nameof(a), nameof(b));
        CheckSegments(a, segments, nameof(a));
        Check.Numel(result, segments.Count, nameof(result));
        Reduce(result, F(a, nameof(a)), F(b, nameof(b)), Chunks(segments), ReduceKernels.ModeDot);
    }

    public void GradientSurgery(Tensor gradU, Tensor stats, Tensor gradR, SegmentTable segments, in SurgerySpec spec)
    {
        Check.Numel(gradU, segments.Total, "gradU");
        Check.SameShape(gradU, gradR, "gradU", "gradR");
        Check.Shape(stats, new Shape(segments.Count + 1, 4), "stats");
        var d = Chunks(segments);
        nint partial = Scratch(Slot.SurgeryPartial, 3L * Math.Max(1, d.Table.Count) * sizeof(double));
        nint coef = Scratch(Slot.SurgeryCoef, 2L * Math.Max(1, segments.Count) * sizeof(float));
        SurgeryKernels.Run(_k, F(gradU, nameof(gradU)), F(gradR, nameof(gradR)), F(stats, nameof(stats)), spec, d.Table,
                           d.Begin, d.End, d.SegFirstChunk, d.ChunkSegment, partial, coef);
    }

    private void Reduce(Tensor result, nint a, nint b, DeviceChunks d, int mode)
    {
        nint partial = Scratch(Slot.ReducePartial, Math.Max(1, d.Table.Count) * (long)sizeof(double));
        ReduceKernels.ReduceChunkPartials(_k, partial, a, b, d.Begin, d.End, d.Table.Count, mode);
        ReduceKernels.ReduceSegmentCombine(_k, F(result, nameof(result)), partial, d.SegFirstChunk, d.Table.SegmentCount);
    }

    private static void CheckSegments(Tensor x, SegmentTable segments, string name)
    {
        if (segments.Total != x.Numel)
            throw new ArgumentException($"{name} {x.Shape} has {x.Numel} elements but the segment table covers {segments.Total}");
    }

    private DeviceChunks Whole(long n)
    {
        if (!_wholeChunks.TryGetValue(n, out var d))
        {
            d = DeviceChunks.Upload(new ChunkTable(new SegmentTable([0, n])), _memory);
            _wholeChunks[n] = d;
        }
        return d;
    }

    private DeviceChunks Chunks(SegmentTable segments)
    {
        if (!_segmentChunks.TryGetValue(segments, out var d))
        {
            d = DeviceChunks.Upload(new ChunkTable(segments), _memory);
            _segmentChunks[segments] = d;
        }
        return d;
    }

    /// <summary>A chunk table's four arrays on the device.</summary>
    private sealed class DeviceChunks
    {
        public required ChunkTable Table { get; init; }

        public required nint Begin { get; init; }

        public required nint End { get; init; }

        public required nint SegFirstChunk { get; init; }

        public required nint ChunkSegment { get; init; }

        public static DeviceChunks Upload(ChunkTable t, IDeviceMemory memory) => new()
        {
            Table = t,
            Begin = Put(memory, t.ChunkBegin),
            End = Put(memory, t.ChunkEnd),
            SegFirstChunk = Put(memory, t.SegFirstChunk),
            ChunkSegment = Put(memory, t.ChunkSegment),
        };

        private static unsafe nint Put<T>(IDeviceMemory memory, T[] data) where T : unmanaged
        {
            long bytes = (long)data.Length * sizeof(T);
            nint p = memory.Alloc(bytes);
            fixed (T* src = data) memory.Upload(p, src, bytes);
            return p;
        }

        public void Free(IDeviceMemory memory)
        {
            memory.Free(Begin);
            memory.Free(End);
            memory.Free(SegFirstChunk);
            memory.Free(ChunkSegment);
        }
    }
}
