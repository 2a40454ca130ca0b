using System.Numerics.Tensors;
using Tensor = Engine.Tensors.Tensor;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void AddRowBias(Tensor y, Tensor bias)
    {
        int c = bias.Rank == 1 ? bias.Dim(0) : throw new ArgumentException($"bias must be [C], got {bias.Shape}");
        if (y.Numel % c != 0) throw new ArgumentException($"y {y.Shape} is not a whole number of rows of {c}");
        int rows = (int)(y.Numel / c);
        unsafe
        {
            float* py = y.F32, pb = bias.F32;
            Parallel.For(0, (rows + RowChunk - 1) / RowChunk, Workers, chunk =>
            {
                var b = new ReadOnlySpan<float>(pb, c);
                int end = Math.Min(rows, (chunk + 1) * RowChunk);
                for (int r = chunk * RowChunk; r < end; r++)
                {
                    var row = new Span<float>(py + (long)r * c, c);
                    TensorPrimitives.Add(row, b, row);
                }
            });
        }
    }

    public void AddRowBiasBackward(Tensor dbias, Tensor dy)
    {
        if (dbias.IsNone) return;
        int c = dbias.Rank == 1 ? dbias.Dim(0) : throw new ArgumentException($"dbias must be [C], got {dbias.Shape}");
        if (dy.Numel % c != 0) throw new ArgumentException($"dy {dy.Shape} is not a whole number of rows of {c}");
        int rows = (int)(dy.Numel / c);
        unsafe
        {
            float* pd = dbias.F32, pdy = dy.F32;
            // Columns are independent, so splitting by column keeps each sum in row order for any thread count.
            const int ColChunk = 64;
            Parallel.For(0, (c + ColChunk - 1) / ColChunk, Workers, chunk =>
            {
                int c0 = chunk * ColChunk, c1 = Math.Min(c, c0 + ColChunk);
                Span<double> acc = stackalloc double[ColChunk];
                acc.Clear();
                for (int r = 0; r < rows; r++)
                {
                    float* row = pdy + (long)r * c;
                    for (int j = c0; j < c1; j++) acc[j - c0] += row[j];
                }
                for (int j = c0; j < c1; j++) pd[j] += (float)acc[j - c0];
            });
        }
    }

    public void AddChannelBias(Tensor y, Tensor b)
    {
        var (n, c, inner) = ChannelGeometry(y, b, "y", "b");
        unsafe
        {
            float* py = y.F32, pb = b.F32;
            Parallel.For(0, n * c, Workers, nc =>
                TensorPrimitives.Add(new ReadOnlySpan<float>(py + (long)nc * inner, inner), pb[nc], new Span<float>(py + (long)nc * inner, inner)));
        }
    }

    public void AddChannelBiasBackward(Tensor db, Tensor dy)
    {
        if (db.IsNone) return;
        var (n, c, inner) = ChannelGeometry(dy, db, "dy", "db");
        unsafe
        {
            float* pdy = dy.F32, pdb = db.F32;
            Parallel.For(0, n * c, Workers, nc =>
            {
                float* p = pdy + (long)nc * inner;
                double s = 0;
                for (int i = 0; i < inner; i++) s += p[i];
                pdb[nc] = (float)s;
            });
        }
    }

    /// <summary>Rows per parallel task for row-wise element work: large enough to amortize scheduling.</summary>
    private const int RowChunk = 64;

    private static (int N, int C, int Inner) ChannelGeometry(Tensor y, Tensor b, string yName, string bName)
    {
        if (y.Rank < 2 || b.Rank != 2 || b.Dim(0) != y.Dim(0) || b.Dim(1) != y.Dim(1))
            throw new ArgumentException($"{bName} {b.Shape} must be [N, C] of {yName} {y.Shape} = [N, C, *]");
        return (y.Dim(0), y.Dim(1), (int)(y.Numel / ((long)y.Dim(0) * y.Dim(1))));
    }
}
