using Engine.Tensors;

namespace Engine.Ops;

/// <summary>
/// Row-major strided-batched GEMM: for each batch b,
/// C_b[M×N] = Alpha · op(A_b)[M×K] · op(B_b)[K×N] + Beta · C_b,
/// where op(X) is X or Xᵀ, and X_b starts StrideX elements after X_{b-1}.
/// Leading dimensions are row strides in elements (row-major), as in cblas with CblasRowMajor.
/// </summary>
public readonly record struct GemmSpec(
    int M, int N, int K,
    bool TransA, bool TransB,
    int Lda, int Ldb, int Ldc,
    long StrideA, long StrideB, long StrideC,
    int Batch = 1, float Alpha = 1f, float Beta = 0f)
{
    /// <summary>Dense operands: leading dimensions and batch strides implied by the shapes.</summary>
    public static GemmSpec Dense(int m, int n, int k, bool transA = false, bool transB = false, int batch = 1, float alpha = 1f, float beta = 0f)
    {
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        return new GemmSpec(m, n, k, transA, transB, lda, ldb, n, (long)m * k, (long)k * n, (long)m * n, batch, alpha, beta);
    }

    /// <summary>Elements each operand must hold, so a bad spec fails before it reads out of bounds.</summary>
    public long ExtentA => Extent(TransA ? K : M, TransA ? M : K, Lda, StrideA);

    public long ExtentB => Extent(TransB ? N : K, TransB ? K : N, Ldb, StrideB);

    public long ExtentC => Extent(M, N, Ldc, StrideC);

    private long Extent(int rows, int cols, int ld, long stride) =>
        rows == 0 || cols == 0 ? 0 : (long)(Batch - 1) * stride + (long)(rows - 1) * ld + cols;

    public void Validate()
    {
        if (M < 0 || N < 0 || K < 0 || Batch < 1)
            throw new ArgumentException($"GEMM sizes must be non-negative and batch ≥ 1: {this}");
        if (Lda < (TransA ? M : K) || Ldb < (TransB ? K : N) || Ldc < N)
            throw new ArgumentException($"GEMM leading dimension too small: {this}");
    }
}

public partial interface IOps
{
    void Gemm(Tensor c, Tensor a, Tensor b, in GemmSpec spec);
}
