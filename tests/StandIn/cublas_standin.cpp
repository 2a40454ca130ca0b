// cublas_standin.cpp — a stand-in libcublas for running the engine's real cuBLAS interop without a GPU.
//
// A TEST DOUBLE, loaded only through DOCO_CUDA_PATH (see cuda_standin.cpp). It implements the entry points
// src/Engine.Cuda/Interop/CuBlas.cs binds: create/destroy, set stream, math mode, cublasSgemm_v2 and
// cublasGemmStridedBatchedEx, FP32 data. The GEMMs have cuBLAS's exact column-major semantics (leading dimensions,
// batch strides, 0 for a broadcast operand, beta == 0 never reads C) and its argument checks, and they are work on
// the handle's stream: the stand-in driver's stream-discipline check and device-range checks apply to them.
//
// TF32: when the compute type is CUBLAS_COMPUTE_32F_FAST_TF32, or CUBLAS_COMPUTE_32F with the handle's math mode
// CUBLAS_TF32_TENSOR_OP_MATH, both inputs are rounded to TF32 (10 mantissa bits, round-to-nearest-even on the 13
// dropped bits) before multiplying, and the products are accumulated in float. That is the error TF32 tensor cores
// add, so tolerances meant for a GPU's TF32 GEMMs meet it here. Accumulation is in k order, one float per output.
#include "standin.h"

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#define CUBLASAPI extern "C" __attribute__((visibility("default")))

namespace
{
// cublasStatus_t
enum : int
{
    Success = 0,
    NotInitialized = 1,
    InvalidValue = 7,
    ExecutionFailed = 13,
    NotSupported = 15,
};

// cublasMath_t, cudaDataType_t, cublasComputeType_t
constexpr int kTf32TensorOpMath = 3, kMathModeMask = 0xf, kDisallowReducedPrecision = 16;
constexpr int kR32F = 0;
constexpr int kCompute32F = 68, kCompute32FPedantic = 69, kCompute32FFastTf32 = 77;

struct Handle
{
    void* stream = nullptr;
    int mathMode = 0;
};

std::mutex gate;
std::set<Handle*> handles;

int Fail(int status, const std::string& message)
{
    doco_standin_report(message.c_str());
    return status;
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...)
{
    char buffer[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

// Round to TF32: keep 10 of float's 23 mantissa bits, round to nearest, ties to even; inf/NaN unchanged.
// The same rounding as tests/Engine.Tests/Cuda/EmulatedGemmEngine.cs.
float Tf32(float x)
{
    std::uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0xfffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    std::memcpy(&x, &u, 4);
    return x;
}

// Elements of a column-major rows×cols operand with leading dimension ld, over `batch` matrices `stride` apart.
std::uint64_t Extent(int rows, int cols, int ld, long long stride, int batch)
{
    if (rows == 0 || cols == 0) return 0;
    std::uint64_t one = std::uint64_t(cols - 1) * ld + rows;
    return std::uint64_t(batch - 1) * std::uint64_t(stride < 0 ? 0 : stride) + one;
}

int Gemm(void* handle, const char* api, int transa, int transb, int m, int n, int k, const float* alpha, const float* A, int lda,
         long long strideA, const float* B, int ldb, long long strideB, const float* beta, float* C, int ldc, long long strideC, int batch,
         int computeType)
{
    std::string call = Format("%s(transa %d, transb %d, m %d, n %d, k %d, lda %d, ldb %d, ldc %d, strides %lld/%lld/%lld, batch %d)", api,
                              transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batch);
    Handle* h;
    {
        std::lock_guard lock(gate);
        h = static_cast<Handle*>(handle);
        if (!handles.count(h)) return Fail(NotInitialized, call + ": not a handle from cublasCreate_v2");
    }
    // cuBLAS's own checks, in its order; CUBLAS_OP_C is CUBLAS_OP_T for real data.
    if (transa < 0 || transa > 2 || transb < 0 || transb > 2) return Fail(InvalidValue, call + ": transa/transb must be N, T or C");
    bool ta = transa != 0, tb = transb != 0;
    if (m < 0 || n < 0 || k < 0 || batch < 0) return Fail(InvalidValue, call + ": a negative size or batch count");
    int rowsA = ta ? k : m, colsA = ta ? m : k, rowsB = tb ? n : k, colsB = tb ? k : n;
    if (lda < std::max(1, rowsA)) return Fail(InvalidValue, Format("%s: lda %d < %d rows of the stored A", call.c_str(), lda, rowsA));
    if (ldb < std::max(1, rowsB)) return Fail(InvalidValue, Format("%s: ldb %d < %d rows of the stored B", call.c_str(), ldb, rowsB));
    if (ldc < std::max(1, m)) return Fail(InvalidValue, Format("%s: ldc %d < m %d", call.c_str(), ldc, m));
    if (alpha == nullptr || beta == nullptr) return Fail(InvalidValue, call + ": alpha/beta null");
    bool tf32 = computeType == kCompute32FFastTf32 ||
                ((computeType == kCompute32F || computeType == kR32F) && (h->mathMode & kMathModeMask) == kTf32TensorOpMath);
    if (m == 0 || n == 0 || batch == 0) return Success;

    // Operands inside device allocations (a wrong leading dimension or stride shows up here first).
    if (k > 0)
    {
        if (doco_standin_check_range(reinterpret_cast<std::uint64_t>(A), 4 * Extent(rowsA, colsA, lda, strideA, batch), "A", call.c_str()) != 0)
            return ExecutionFailed; // on a GPU: an illegal address, reported as a failed execution
        if (doco_standin_check_range(reinterpret_cast<std::uint64_t>(B), 4 * Extent(rowsB, colsB, ldb, strideB, batch), "B", call.c_str()) != 0)
            return ExecutionFailed;
    }
    if (doco_standin_check_range(reinterpret_cast<std::uint64_t>(C), 4 * Extent(m, n, ldc, strideC, batch), "C", call.c_str()) != 0)
        return ExecutionFailed;
    if (doco_standin_enqueue(h->stream, call.c_str()) != 0) return Fail(ExecutionFailed, call + ": refused by the stand-in driver (above)");

    float a = *alpha, b = *beta;
    std::vector<float> opA(std::size_t(m) * k), opB(std::size_t(k) * n), acc(m);
    for (int p = 0; p < batch; p++)
    {
        const float* Ap = A + p * strideA;
        const float* Bp = B + p * strideB;
        float* Cp = C + p * strideC;
        // op(A) m×k and op(B) k×n, column-major and packed (and rounded once when TF32).
        for (int l = 0; l < k; l++)
            for (int i = 0; i < m; i++)
            {
                float v = ta ? Ap[l + std::size_t(i) * lda] : Ap[i + std::size_t(l) * lda];
                opA[i + std::size_t(l) * m] = tf32 ? Tf32(v) : v;
            }
        for (int j = 0; j < n; j++)
            for (int l = 0; l < k; l++)
            {
                float v = tb ? Bp[j + std::size_t(l) * ldb] : Bp[l + std::size_t(j) * ldb];
                opB[l + std::size_t(j) * k] = tf32 ? Tf32(v) : v;
            }
        for (int j = 0; j < n; j++)
        {
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int l = 0; l < k; l++)
            {
                float bv = opB[l + std::size_t(j) * k];
                const float* col = &opA[std::size_t(l) * m];
                for (int i = 0; i < m; i++) acc[i] += col[i] * bv; // compiled with -ffp-contract=off: no FMA
            }
            float* c = Cp + std::size_t(j) * ldc;
            for (int i = 0; i < m; i++) c[i] = b == 0.0f ? a * acc[i] : a * acc[i] + b * c[i];
        }
    }
    return Success;
}
} // namespace

CUBLASAPI int cublasCreate_v2(void** handle)
{
    if (handle == nullptr) return Fail(InvalidValue, "cublasCreate_v2: null handle pointer");
    if (int e = doco_standin_check_context("cublasCreate_v2")) return Fail(NotInitialized, Format("cublasCreate_v2: no CUDA context (driver status %d)", e));
    std::lock_guard lock(gate);
    auto* h = new Handle();
    handles.insert(h);
    *handle = h;
    return Success;
}

CUBLASAPI int cublasDestroy_v2(void* handle)
{
    std::lock_guard lock(gate);
    auto* h = static_cast<Handle*>(handle);
    if (!handles.erase(h)) return Fail(NotInitialized, "cublasDestroy_v2: not a handle from cublasCreate_v2");
    delete h;
    return Success;
}

CUBLASAPI int cublasSetStream_v2(void* handle, void* stream)
{
    std::lock_guard lock(gate);
    auto* h = static_cast<Handle*>(handle);
    if (!handles.count(h)) return Fail(NotInitialized, "cublasSetStream_v2: not a handle from cublasCreate_v2");
    if (doco_standin_check_stream(stream, "cublasSetStream_v2") != 0) return Fail(InvalidValue, "cublasSetStream_v2: not a stream");
    h->stream = stream;
    return Success;
}

CUBLASAPI int cublasSetMathMode(void* handle, int mode)
{
    std::lock_guard lock(gate);
    auto* h = static_cast<Handle*>(handle);
    if (!handles.count(h)) return Fail(NotInitialized, "cublasSetMathMode: not a handle from cublasCreate_v2");
    if ((mode & ~(kMathModeMask | kDisallowReducedPrecision)) != 0 || (mode & kMathModeMask) > kTf32TensorOpMath)
        return Fail(InvalidValue, Format("cublasSetMathMode(%d): not a cublasMath_t", mode));
    h->mathMode = mode;
    return Success;
}

CUBLASAPI int cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, const float* A, int lda,
                             const float* B, int ldb, const float* beta, float* C, int ldc)
{
    return Gemm(handle, "cublasSgemm_v2", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, kCompute32F);
}

CUBLASAPI int cublasGemmStridedBatchedEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A, int atype,
                                         int lda, long long strideA, const void* B, int btype, int ldb, long long strideB, const void* beta,
                                         void* C, int ctype, int ldc, long long strideC, int batch, int computeType, int algo)
{
    const char* api = "cublasGemmStridedBatchedEx";
    if (atype != kR32F || btype != kR32F || ctype != kR32F)
        return Fail(NotSupported, Format("%s: data types %d/%d/%d: the stand-in emulates CUDA_R_32F (0) only", api, atype, btype, ctype));
    if (computeType != kCompute32F && computeType != kCompute32FPedantic && computeType != kCompute32FFastTf32 && computeType != kR32F)
        return Fail(NotSupported, Format("%s: compute type %d: the stand-in emulates 32F, 32F_PEDANTIC and 32F_FAST_TF32", api, computeType));
    if (!(algo >= -1 && algo <= 23) && !(algo >= 99 && algo <= 115)) return Fail(InvalidValue, Format("%s: algo %d is not a cublasGemmAlgo_t", api, algo));
    return Gemm(handle, api, transa, transb, m, n, k, static_cast<const float*>(alpha), static_cast<const float*>(A), lda, strideA,
                static_cast<const float*>(B), ldb, strideB, static_cast<const float*>(beta), static_cast<float*>(C), ldc, strideC, batch,
                computeType);
}
