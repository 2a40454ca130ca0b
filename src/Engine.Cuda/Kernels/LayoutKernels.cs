namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/layout.cu.</summary>
public static unsafe class LayoutKernels
{
    /// <summary>Must match TILE and TILE_ROWS in layout.cu.</summary>
    public const uint Tile = 32, TileRows = 8;

    /// <summary>y [batch, cols, rows] = x [batch, rows, cols] transposed per batch item.</summary>
    public static void Transpose(IKernelRunner runner, nint y, nint x, int batch, int rows, int cols)
    {
        if ((long)batch * rows * cols == 0) return;
        void** args = stackalloc void*[] { &y, &x, &batch, &rows, &cols };
        var grid = new Dim3(((uint)cols + Tile - 1) / Tile, ((uint)rows + Tile - 1) / Tile, (uint)batch);
        runner.Launch("transpose_f32", grid, new Dim3(Tile, TileRows), 0, args);
    }
}
