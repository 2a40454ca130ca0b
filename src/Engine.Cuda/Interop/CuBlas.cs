using System.Runtime.InteropServices;

namespace Engine.Cuda.Interop;

/// <summary>
/// cuBLAS (v2 API), the GEMM entry points. cuBLAS is column-major: a row-major C = A·B is computed as
/// Cᵀ = Bᵀ·Aᵀ, i.e. by swapping the operands (the caller's job, in the GEMM launcher).
/// </summary>
internal static unsafe partial class CuBlas
{
    private const string Lib = NativeLibraryResolver.CublasName;

    // The import name is a logical one; the resolver maps it to the versioned file before the first call.
    static CuBlas() => NativeLibraryResolver.Install();

    public const int Success = 0;

    // cublasOperation_t
    public const int OpN = 0;
    public const int OpT = 1;

    // cublasMath_t
    public const int DefaultMath = 0;
    public const int Tf32TensorOpMath = 3;

    // cudaDataType_t
    public const int DataR32F = 0;

    // cublasComputeType_t
    public const int Compute32F = 68;
    public const int Compute32FFastTf32 = 77;

    // cublasGemmAlgo_t
    public const int GemmDefault = -1;

    [LibraryImport(Lib)] public static partial int cublasCreate_v2(nint* handle);
    [LibraryImport(Lib)] public static partial int cublasDestroy_v2(nint handle);
    [LibraryImport(Lib)] public static partial int cublasSetStream_v2(nint handle, nint stream);
    [LibraryImport(Lib)] public static partial int cublasSetMathMode(nint handle, int mode);

    [LibraryImport(Lib)]
    public static partial int cublasSgemm_v2(nint handle, int transa, int transb, int m, int n, int k,
                                             float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    /// <summary>Batched GEMM with strides; computeType <see cref="Compute32F"/> (FP32) or <see cref="Compute32FFastTf32"/> (TF32).</summary>
    [LibraryImport(Lib)]
    public static partial int cublasGemmStridedBatchedEx(nint handle, int transa, int transb, int m, int n, int k,
                                                         void* alpha, ulong a, int atype, int lda, long strideA,
                                                         ulong b, int btype, int ldb, long strideB,
                                                         void* beta, ulong c, int ctype, int ldc, long strideC,
                                                         int batchCount, int computeType, int algo);

    public static void Check(int status, string call)
    {
        if (status != Success) throw new CuBlasException(status, StatusName(status), StatusText(status), call);
    }

    // cublasGetStatusName appeared in CUDA 11.4.2; a table keeps older libraries working.
    public static string StatusName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => "CUBLAS_STATUS_UNKNOWN",
    };

    public static string StatusText(int status) => status switch
    {
        0 => "success",
        1 => "the library was not initialized",
        3 => "resource allocation failed",
        7 => "an invalid value was used as an argument",
        8 => "the device does not support the requested feature",
        11 => "an access to GPU memory space failed",
        13 => "the GPU program failed to execute",
        14 => "an internal operation failed",
        15 => "the requested functionality is not supported",
        16 => "license error",
        _ => "unrecognized status",
    };
}
