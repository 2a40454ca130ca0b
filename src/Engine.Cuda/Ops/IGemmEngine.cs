namespace Engine.Cuda.Ops;

/// <summary>
/// GEMM with exactly cublasGemmStridedBatchedEx's semantics (FP32 data): column-major, for each batch i,
/// C_i (m×n, leading dimension ldc) = alpha·op(A_i)·op(B_i) + beta·C_i, op(A_i) m×k, op(B_i) k×n, X_i starting
/// strideX elements after X_{i−1}. cuBLAS on a GPU (<see cref="CublasGemmEngine"/>); in the tests an emulated
/// engine with the same semantics on the CPU, so CudaOps's row-major → column-major mapping is what gets tested.
/// </summary>
public interface IGemmEngine
{
    /// <summary>TF32 tensor-core math (CUBLAS_COMPUTE_32F_FAST_TF32) instead of full FP32.</summary>
    bool Tf32 { get; }

    void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
                            nint a, int lda, long strideA, nint b, int ldb, long strideB,
                            float beta, nint c, int ldc, long strideC, int batch);
}

/// <summary>cuBLAS on the context's stream.</summary>
public sealed class CublasGemmEngine(CublasHandle handle) : IGemmEngine, IDisposable
{
    public bool Tf32 => handle.AllowTf32;

    public void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
                                   nint a, int lda, long strideA, nint b, int ldb, long strideB,
                                   float beta, nint c, int ldc, long strideC, int batch) =>
        handle.GemmStridedBatchedColumnMajor(transA, transB, m, n, k, alpha, (ulong)a, lda, strideA, (ulong)b, ldb, strideB,
                                             beta, (ulong)c, ldc, strideC, batch);

    public void Dispose() => handle.Dispose();
}
