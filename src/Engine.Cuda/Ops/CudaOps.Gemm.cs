using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void Gemm(Tensor c, Tensor a, Tensor b, in GemmSpec spec)
    {
        spec.Validate();
        Check.AtLeast(a, spec.ExtentA, "A");
        Check.AtLeast(b, spec.ExtentB, "B");
        Check.AtLeast(c, spec.ExtentC, "C");
        Gemm(F(c, "C"), F(a, "A"), F(b, "B"), spec);
    }

    /// <summary>
    /// A row-major GEMM through the column-major engine. A row-major M×N matrix with row stride ld is, byte for byte,
    /// a column-major N×M matrix with leading dimension ld: its transpose. So C = op(A)·op(B) (row-major) is
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ (column-major) — swap the operands and M with N, keep each operand's transpose flag,
    /// leading dimensions and batch strides.
    /// </summary>
    private void Gemm(nint c, nint a, nint b, in GemmSpec s)
    {
        if (s.M == 0 || s.N == 0) return;
        _gemm.GemmStridedBatched(s.TransB, s.TransA, s.N, s.M, s.K, s.Alpha,
                                 b, s.Ldb, s.StrideB, a, s.Lda, s.StrideA,
                                 s.Beta, c, s.Ldc, s.StrideC, s.Batch);
    }

    /// <summary>The address <paramref name="floats"/> f32 elements after <paramref name="p"/>.</summary>
    private static nint At(nint p, long floats) => p + (nint)(floats * sizeof(float));
}
