using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void Add(Tensor y, Tensor a, Tensor b)
    {
        SameShape3(y, a, b);
        ElementwiseKernels.AddF32(_k, F(y, nameof(y)), F(a, nameof(a)), F(b, nameof(b)), y.Numel);
    }

    public void Mul(Tensor y, Tensor a, Tensor b)
    {
        SameShape3(y, a, b);
        ElementwiseKernels.MulF32(_k, F(y, nameof(y)), F(a, nameof(a)), F(b, nameof(b)), y.Numel);
    }

    public void Scale(Tensor y, Tensor x, float alpha)
    {
        Check.SameShape(y, x, nameof(y), nameof(x));
        ElementwiseKernels.ScaleF32(_k, F(y, nameof(y)), F(x, nameof(x)), alpha, y.Numel);
    }

    public void Axpy(Tensor y, float alpha, Tensor x)
    {
        Check.SameShape(y, x, nameof(y), nameof(x));
        ElementwiseKernels.AxpyF32(_k, F(y, nameof(y)), alpha, F(x, nameof(x)), y.Numel);
    }

    public void Fill(Tensor y, float value) => ElementwiseKernels.FillF32(_k, F(y, nameof(y)), value, y.Numel);

    public void Copy(Tensor dst, Tensor src)
    {
        if (dst.IsNone || src.IsNone) throw new ArgumentException($"Copy needs two tensors, got dst {dst} and src {src}");
        if (dst.Device != Device.Cuda || src.Device != Device.Cuda)
            throw new ArgumentException($"Copy on the CUDA backend needs CUDA tensors, got dst {dst} and src {src}");
        if (dst.DType != src.DType) throw new ArgumentException($"dst {dst} and src {src} differ in dtype");
        Check.Numel(dst, src.Numel, nameof(dst));
        _memory.Copy(dst.Ptr, src.Ptr, src.Bytes);
    }

    public void EmbeddingForward(Tensor y, Tensor ids, Tensor table)
    {
        var (n, dim) = CheckEmbedding(y, nameof(y), ids, table, nameof(table));
        ElementwiseKernels.EmbeddingForward(_k, F(y, nameof(y)), DeviceIds(ids, table.Dim(0)), F(table, nameof(table)), n, dim);
    }

    public void EmbeddingBackward(Tensor dtable, Tensor dy, Tensor ids)
    {
        var (n, dim) = CheckEmbedding(dy, nameof(dy), ids, dtable, nameof(dtable));
        ElementwiseKernels.EmbeddingBackward(_k, F(dtable, nameof(dtable)), F(dy, nameof(dy)), DeviceIds(ids, dtable.Dim(0)), n, dim);
    }

    private static (long N, int Dim) CheckEmbedding(Tensor y, string yName, Tensor ids, Tensor table, string tableName)
    {
        F(y, yName);
        F(table, tableName);
        if (ids.IsNone || ids.DType != DType.I32) throw new ArgumentException($"ids must be an I32 tensor, got {ids}");
        if (table.Rank != 2) throw new ArgumentException($"{tableName} {table.Shape} must be [vocab, dim]");
        int dim = table.Dim(1);
        long n = ids.Numel;
        if (y.Numel != n * dim || y.Dim(-1) != dim)
            throw new ArgumentException($"{yName} has shape {y.Shape}, expected [{n}, {dim}] for ids {ids.Shape} and {tableName} {table.Shape}");
        return (n, dim);
    }

    /// <summary>
    /// The ids on the device, checked against the table first as the CPU does (the kernel does not check): host ids
    /// are checked and uploaded; device ids are downloaded to check them (a few hundred ints, one wait).
    /// </summary>
    private unsafe nint DeviceIds(Tensor ids, int vocab)
    {
        long n = ids.Numel;
        int[]? rented = null;
        Span<int> host = n <= 1024 ? stackalloc int[(int)n] : (rented = new int[n]);
        if (ids.Device == Device.Cpu) new ReadOnlySpan<int>((void*)ids.Ptr, (int)n).CopyTo(host);
        else fixed (int* p = host) _memory.Download(p, ids.Ptr, n * 4);
        for (int i = 0; i < host.Length; i++)
            if ((uint)host[i] >= (uint)vocab)
                throw new ArgumentException($"ids[{i}] = {host[i]} is outside the embedding table of {vocab} rows");
        if (ids.Device == Device.Cuda) return ids.Ptr;
        nint dev = Scratch(Slot.Ids, n * 4);
        fixed (int* p = host) _memory.Upload(dev, p, n * 4);
        return dev;
    }

    public void Upsample2xForward(Tensor y, Tensor x)
    {
        CheckUpsample(x, nameof(x), y, nameof(y));
        ElementwiseKernels.Upsample2xForward(_k, F(y, nameof(y)), F(x, nameof(x)), (long)x.Dim(0) * x.Dim(1), x.Dim(2), x.Dim(3));
    }

    public void Upsample2xBackward(Tensor dx, Tensor dy)
    {
        CheckUpsample(dx, nameof(dx), dy, nameof(dy));
        ElementwiseKernels.Upsample2xBackward(_k, F(dx, nameof(dx)), F(dy, nameof(dy)), (long)dx.Dim(0) * dx.Dim(1), dx.Dim(2), dx.Dim(3));
    }

    private static void CheckUpsample(Tensor small, string smallName, Tensor big, string bigName)
    {
        F(small, smallName);
        F(big, bigName);
        if (small.Rank != 4) throw new ArgumentException($"{smallName} {small.Shape} must be [N, C, H, W]");
        var expected = new Shape(small.Dim(0), small.Dim(1), 2 * small.Dim(2), 2 * small.Dim(3));
        if (big.Shape != expected) throw new ArgumentException($"{bigName} has shape {big.Shape}, expected {expected} for {smallName} {small.Shape}");
    }

    public void ConcatChannels(Tensor y, Tensor a, Tensor b)
    {
        var (n, perA, perB) = CheckConcat(y, nameof(y), a, b);
        ElementwiseKernels.ConcatChannels(_k, F(y, nameof(y)), F(a, nameof(a)), F(b, nameof(b)), n, perA, perB);
    }

    public void SplitChannels(Tensor a, Tensor b, Tensor x)
    {
        var (n, perA, perB) = CheckConcat(x, nameof(x), a, b);
        ElementwiseKernels.SplitChannels(_k, Opt(a, nameof(a)), Opt(b, nameof(b)), F(x, nameof(x)), n, perA, perB);
    }

    /// <summary>(N, elements of a per sample, of b per sample); a None side has the channels the other leaves.</summary>
    private static (long N, long PerA, long PerB) CheckConcat(Tensor y, string yName, Tensor a, Tensor b)
    {
        F(y, yName);
        if (y.Rank < 2) throw new ArgumentException($"{yName} {y.Shape} must be [N, C, ...]");
        if (a.IsNone && b.IsNone) throw new ArgumentException("SplitChannels needs at least one of a and b");
        var some = a.IsNone ? b : a;
        if (some.Rank != y.Rank) throw new ArgumentException($"a {a.Shape} and b {b.Shape} must have the rank of {yName} {y.Shape}");
        int c = y.Dim(1);
        int ca = a.IsNone ? c - b.Dim(1) : a.Dim(1);
        int cb = c - ca;
        if (ca < 0 || cb < 0) throw new ArgumentException($"channels of a and b exceed {yName} {y.Shape}");
        long inner = 1;
        for (int d = 2; d < y.Rank; d++) inner *= y.Dim(d);
        CheckPart(a, "a", y, yName, ca);
        CheckPart(b, "b", y, yName, cb);
        return (y.Dim(0), ca * inner, cb * inner);
    }

    private static void CheckPart(Tensor t, string name, Tensor y, string yName, int channels)
    {
        if (t.IsNone) return;
        F(t, name);
        Span<int> dims = stackalloc int[Shape.MaxRank];
        for (int d = 0; d < y.Rank; d++) dims[d] = y.Dim(d);
        dims[1] = channels;
        var expected = new Shape(dims[..y.Rank]);
        if (t.Shape != expected) throw new ArgumentException($"{name} has shape {t.Shape}, expected {expected} for {yName} {y.Shape}");
    }

    private static void SameShape3(Tensor y, Tensor a, Tensor b)
    {
        Check.SameShape(a, b, nameof(a), nameof(b));
        Check.SameShape(y, a, nameof(y), nameof(a));
    }
}
