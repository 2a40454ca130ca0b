using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void AddRowBias(Tensor y, Tensor bias)
    {
        int c = bias.Rank == 1 ? bias.Dim(0) : throw new ArgumentException($"bias must be [C], got {bias.Shape}");
        if (c == 0 || y.Numel % c != 0) throw new ArgumentException($"y {y.Shape} is not a whole number of rows of {c}");
        BiasKernels.AddRowBias(_k, F(y, nameof(y)), F(bias, nameof(bias)), y.Numel / c, c);
    }

    public void AddRowBiasBackward(Tensor dbias, Tensor dy)
    {
        if (dbias.IsNone) return;
        int c = dbias.Rank == 1 ? dbias.Dim(0) : throw new ArgumentException($"dbias must be [C], got {dbias.Shape}");
        if (c == 0 || dy.Numel % c != 0) throw new ArgumentException($"dy {dy.Shape} is not a whole number of rows of {c}");
        BiasKernels.AddRowBiasBackward(_k, F(dbias, nameof(dbias)), F(dy, nameof(dy)), dy.Numel / c, c);
    }

    public void AddChannelBias(Tensor y, Tensor b)
    {
        var (nc, inner) = ChannelGeometry(y, b, "y", "b");
        BiasKernels.AddChannelBias(_k, F(y, nameof(y)), F(b, nameof(b)), nc, inner);
    }

    public void AddChannelBiasBackward(Tensor db, Tensor dy)
    {
        if (db.IsNone) return;
        var (nc, inner) = ChannelGeometry(dy, db, "dy", "db");
        BiasKernels.AddChannelBiasBackward(_k, F(db, nameof(db)), F(dy, nameof(dy)), nc, inner);
    }

    private static (long NC, int Inner) ChannelGeometry(Tensor y, Tensor b, string yName, string bName)
    {
        if (y.Rank < 2 || b.Rank != 2 || b.Dim(0) != y.Dim(0) || b.Dim(1) != y.Dim(1))
            throw new ArgumentException($"{bName} {b.Shape} must be [N, C] of {yName} {y.Shape} = [N, C, *]");
        long nc = (long)y.Dim(0) * y.Dim(1);
        return (nc, (int)(y.Numel / Math.Max(1, nc)));
    }
}
