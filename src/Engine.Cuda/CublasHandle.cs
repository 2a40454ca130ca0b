using Engine.Cuda.Interop;

namespace Engine.Cuda;

/// <summary>
/// A cuBLAS handle bound to a context's stream. Row-major GEMMs go through cuBLAS's column-major interface by
/// computing Cᵀ = Bᵀ·Aᵀ: swap the operands and the sizes, keep the transposes.
/// TF32 (allowTf32) trades ~10 mantissa bits of the products for tensor-core speed, as
/// PyTorch's allow_tf32 does.
/// </summary>
public sealed unsafe class CublasHandle : IDisposable
{
    private nint _handle;

    public CublasHandle(CudaContext context, bool allowTf32 = false)
    {
        NativeLibraryResolver.Load(CudaLibrary.Cublas);
        nint h;
        CuBlas.Check(CuBlas.cublasCreate_v2(&h), "cublasCreate_v2");
        _handle = h;
        CuBlas.Check(CuBlas.cublasSetStream_v2(h, context.Stream), "cublasSetStream_v2");
        AllowTf32 = allowTf32;
        CuBlas.Check(CuBlas.cublasSetMathMode(h, allowTf32 ? CuBlas.Tf32TensorOpMath : CuBlas.DefaultMath), "cublasSetMathMode");
    }

    public bool AllowTf32 { get; }

    /// <summary>
    /// Row-major, batched: C[b] (M×N) = alpha·op(A[b])·op(B[b]) + beta·C[b], where op(A) is M×K and op(B) is K×N;
    /// A is stored M×K (or K×M when transA), B K×N (or N×K when transB); strides in elements (0 broadcasts).
    /// </summary>
    public void GemmStridedBatched(bool transA, bool transB, int M, int N, int K, float alpha,
                                   ulong a, long strideA, ulong b, long strideB, float beta, ulong c, long strideC, int batch)
    {
        int lda = transA ? M : K, ldb = transB ? K : N;
        int compute = AllowTf32 ? CuBlas.Compute32FFastTf32 : CuBlas.Compute32F;
        // Column-major view: Cᵀ (N×M) = op(B)ᵀ (N×K) · op(A)ᵀ (K×M).
        CuBlas.Check(CuBlas.cublasGemmStridedBatchedEx(_handle, transB ? CuBlas.OpT : CuBlas.OpN, transA ? CuBlas.OpT : CuBlas.OpN,
                                                       N, M, K, &alpha, b, CuBlas.DataR32F, ldb, strideB, a, CuBlas.DataR32F, lda, strideA,
                                                       &beta, c, CuBlas.DataR32F, N, strideC, batch, compute, CuBlas.GemmDefault),
                     $"cublasGemmStridedBatchedEx(M={M}, N={N}, K={K}, batch={batch}, tf32={AllowTf32})");
    }

    /// <summary>
    /// cublasGemmStridedBatchedEx as it is (column-major, explicit leading dimensions), FP32 data, FP32 or TF32 compute
    /// per <see cref="AllowTf32"/>. CudaOps maps its row-major GEMMs onto this.
    /// </summary>
    public void GemmStridedBatchedColumnMajor(bool transA, bool transB, int m, int n, int k, float alpha,
                                              ulong a, int lda, long strideA, ulong b, int ldb, long strideB,
                                              float beta, ulong c, int ldc, long strideC, int batch)
    {
        int compute = AllowTf32 ? CuBlas.Compute32FFastTf32 : CuBlas.Compute32F;
        CuBlas.Check(CuBlas.cublasGemmStridedBatchedEx(_handle, transA ? CuBlas.OpT : CuBlas.OpN, transB ? CuBlas.OpT : CuBlas.OpN,
                                                       m, n, k, &alpha, a, CuBlas.DataR32F, lda, strideA, b, CuBlas.DataR32F, ldb, strideB,
                                                       &beta, c, CuBlas.DataR32F, ldc, strideC, batch, compute, CuBlas.GemmDefault),
                     $"cublasGemmStridedBatchedEx(m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc}, batch={batch}, tf32={AllowTf32})");
    }

    /// <summary>Row-major single SGEMM, as <see cref="GemmStridedBatched"/> with one batch, through cublasSgemm.</summary>
    public void Sgemm(bool transA, bool transB, int M, int N, int K, float alpha, ulong a, ulong b, float beta, ulong c)
    {
        int lda = transA ? M : K, ldb = transB ? K : N;
        CuBlas.Check(CuBlas.cublasSgemm_v2(_handle, transB ? CuBlas.OpT : CuBlas.OpN, transA ? CuBlas.OpT : CuBlas.OpN,
                                           N, M, K, &alpha, b, ldb, a, lda, &beta, c, N),
                     $"cublasSgemm_v2(M={M}, N={N}, K={K})");
    }

    public void Dispose()
    {
        if (_handle != 0) _ = CuBlas.cublasDestroy_v2(_handle);
        _handle = 0;
    }
}
