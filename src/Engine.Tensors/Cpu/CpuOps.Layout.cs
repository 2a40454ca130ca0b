using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public unsafe void Transpose(Tensor y, Tensor x, int batch, int rows, int cols)
    {
        long n = checked((long)batch * rows * cols);
        Check.Numel(x, n, "x");
        Check.Numel(y, n, "y");
        float* px = x.F32, py = y.F32;
        // Tiles keep both the reads and the writes within a few cache lines.
        const int Tile = 32;
        int rowTiles = (rows + Tile - 1) / Tile, colTiles = (cols + Tile - 1) / Tile;
        Parallel.For(0, batch * rowTiles * colTiles, Workers, t =>
        {
            int b = t / (rowTiles * colTiles), rt = t / colTiles % rowTiles, ct = t % colTiles;
            float* xb = px + (long)b * rows * cols, yb = py + (long)b * rows * cols;
            int r1 = Math.Min(rows, (rt + 1) * Tile), c1 = Math.Min(cols, (ct + 1) * Tile);
            for (int r = rt * Tile; r < r1; r++)
                for (int c = ct * Tile; c < c1; c++)
                    yb[(long)c * rows + r] = xb[(long)r * cols + c];
        });
    }

    public void CopyFromHost(Tensor dst, ReadOnlySpan<float> src)
    {
        Check.Numel(dst, src.Length, "dst");
        src.CopyTo(dst.AsSpan());
    }

    public void CopyToHost(Span<float> dst, Tensor src)
    {
        Check.Numel(src, dst.Length, "src");
        src.AsSpan().CopyTo(dst);
    }
}
