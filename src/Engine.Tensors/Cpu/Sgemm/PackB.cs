namespace Engine.Cpu.Sgemm;

/// <summary>
/// Where op(B) comes from: a block of k rows [p0, p0 + kc) × columns [j0, j0 + cols) of batch <c>batch</c>, written as
/// <see cref="Packing.PackB"/> lays it out (panels of width PanelWidth(nr, vw, ·), zero past cols).
/// </summary>
internal interface IPackB
{
    unsafe void Pack(int batch, float* dst, int nr, int vw, int p0, int kc, int j0, int cols);
}

/// <summary>op(B) stored as a (possibly transposed) strided-batched matrix.</summary>
internal readonly unsafe struct MatrixB(nint b, nint ldb, bool trans, long stride) : IPackB
{
    public void Pack(int batch, float* dst, int nr, int vw, int p0, int kc, int j0, int cols) =>
        Packing.PackB(dst, nr, vw, (float*)b + batch * stride, ldb, trans, p0, kc, j0, cols);
}
