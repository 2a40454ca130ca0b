// standin_selftest.cpp — checks the stand-in libraries themselves before the engine runs on them
// (build.ps1 standin-check builds and runs it first). Each check is a tiny driver/cuBLAS program with a known
// outcome: the stream-race rule fires (with its stderr line naming both calls) and is cleared by each kind of
// synchronization; range and context checks fire; cuBLAS is column-major with cuBLAS's leading dimensions,
// strides, transposes and beta == 0; TF32 rounds to nearest even. Exit 0 when every check passes.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>

extern "C"
{
int cuInit(unsigned);
int cuDevicePrimaryCtxRetain(void**, int);
int cuCtxSetCurrent(void*);
int cuCtxSynchronize();
int cuStreamCreate(void**, unsigned);
int cuStreamSynchronize(void*);
int cuEventCreate(void**, unsigned);
int cuEventRecord(void*, void*);
int cuEventSynchronize(void*);
int cuEventElapsedTime(float*, void*, void*);
int cuMemAlloc_v2(std::uint64_t*, std::size_t);
int cuMemFree_v2(std::uint64_t);
int cuMemsetD32Async(std::uint64_t, unsigned, std::size_t, void*);
int cuMemcpyHtoD_v2(std::uint64_t, const void*, std::size_t);
int cuMemcpyDtoH_v2(void*, std::uint64_t, std::size_t);
int cuMemcpyHtoDAsync_v2(std::uint64_t, const void*, std::size_t, void*);
int cuMemcpyDtoHAsync_v2(void*, std::uint64_t, std::size_t, void*);
int cuModuleLoadData(void**, const void*);
int cuModuleGetFunction(void**, void*, const char*);
int cuGetErrorName(int, const char**);
int cuGetErrorString(int, const char**);
int cublasCreate_v2(void**);
int cublasSetStream_v2(void*, void*);
int cublasSetMathMode(void*, int);
int cublasSgemm_v2(void*, int, int, int, int, int, const float*, const float*, int, const float*, int, const float*, float*, int);
int cublasGemmStridedBatchedEx(void*, int, int, int, int, int, const void*, const void*, int, int, long long, const void*, int, int, long long,
                               const void*, void*, int, int, long long, int, int, int);
}

namespace
{
int failures = 0;
std::string captured; // stderr of the last Capture block

void Expect(bool ok, const char* what)
{
    std::printf("  %s  %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

// Runs f with stderr sent to a temporary file and keeps what it printed in `captured` (the stand-in's report
// lines are part of what is checked, and expected ones should not read as failures in the CI log).
template <typename F> int Capture(F f)
{
    std::fflush(stderr);
    char path[] = "/tmp/doco-standin-stderr-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    dup2(fd, 2);
    int status = f();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    captured.clear();
    lseek(fd, 0, SEEK_SET);
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) captured.append(buffer, static_cast<std::size_t>(n));
    close(fd);
    unlink(path);
    return status;
}

bool Has(const char* text) { return captured.find(text) != std::string::npos; }

float Tf32(float x) // the reference: via double arithmetic rather than bit tricks
{
    if (!std::isfinite(x) || x == 0) return x;
    int e;
    double m = std::frexp(static_cast<double>(x), &e); // x = m·2^e, 0.5 ≤ |m| < 1
    double scaled = m * 2048.0;                         // 11 significant bits (1 implicit + 10)
    double r = std::nearbyint(scaled);                  // default rounding mode: to nearest, ties to even
    return static_cast<float>(std::ldexp(r / 2048.0, e));
}
} // namespace

int main()
{
    void *ctx, *stream, *blas;
    std::uint64_t d;
    float host[64] = {};
    std::printf("stand-in self-test\n");
    Expect(cuInit(0) == 0 && cuDevicePrimaryCtxRetain(&ctx, 0) == 0 && cuCtxSetCurrent(ctx) == 0, "init, primary context, current");
    Expect(cuStreamCreate(&stream, 1) == 0 && cuMemAlloc_v2(&d, sizeof host) == 0, "non-blocking stream, allocation");

    // The race the engine had: a synchronous copy (legacy NULL stream), then work on the non-blocking stream.
    int status = Capture([&] {
        cuMemcpyHtoD_v2(d, host, sizeof host);
        return cuMemsetD32Async(d, 0, 16, stream);
    });
    const char* name = nullptr;
    cuGetErrorName(status, &name);
    Expect(status == 9001 && name != nullptr && std::strcmp(name, "DOCO_STANDIN_ERROR_STREAM_RACE") == 0, "HtoD_v2 then async memset: stream race");
    Expect(Has("doco stand-in: stream race: cuMemsetD32Async") && Has("races with cuMemcpyHtoD_v2"), "  stderr names both calls");
    const char* text = nullptr;
    Expect(cuGetErrorString(status, &text) == 0 && text != nullptr && std::strstr(text, "cuMemcpyHtoD_v2") != nullptr, "  cuGetErrorString names them too");
    Expect(cuCtxSynchronize() == 0 && cuMemsetD32Async(d, 0, 16, stream) == 0, "after cuCtxSynchronize the async memset runs");

    // The reverse: kernels (here an async memset) on the stream, then a synchronous download.
    status = Capture([&] { return cuMemcpyDtoH_v2(host, d, sizeof host); });
    Expect(status == 9001 && Has("cuMemcpyDtoH_v2") && Has("races with cuMemsetD32Async"), "async memset then DtoH_v2: stream race");
    Expect(cuStreamSynchronize(stream) == 0 && cuMemcpyDtoH_v2(host, d, sizeof host) == 0, "after cuStreamSynchronize the DtoH_v2 runs");
    void *e0, *e1;
    float ms = -1;
    cuEventCreate(&e0, 0);
    cuEventCreate(&e1, 0);
    Expect(cuEventRecord(e0, stream) == 0 && cuMemsetD32Async(d, 0, 16, stream) == 0 && cuEventRecord(e1, stream) == 0, "events around async work");
    status = Capture([&] { return cuEventElapsedTime(&ms, e0, e1); });
    Expect(status == 600, "elapsed time before the end event is waited for: CUDA_ERROR_NOT_READY");
    Expect(cuEventSynchronize(e1) == 0 && cuEventElapsedTime(&ms, e0, e1) == 0 && ms >= 0, "after cuEventSynchronize: elapsed time");
    Expect(cuMemcpyDtoH_v2(host, d, sizeof host) == 0, "the event synchronization also clears the race");
    Expect(cuMemcpyHtoDAsync_v2(d, host, sizeof host, stream) == 0 && cuMemcpyDtoHAsync_v2(host, d, sizeof host, stream) == 0 &&
               cuStreamSynchronize(stream) == 0,
           "everything on the stream: no race");

    status = Capture([&] { return cuMemcpyHtoDAsync_v2(d + 8, host, sizeof host, stream); });
    Expect(status == 1 && Has("runs past the end of its allocation"), "copy past the end of an allocation: CUDA_ERROR_INVALID_VALUE");
    status = Capture([&] { return cuMemFree_v2(d + 4); });
    Expect(status == 1, "free of a pointer that is not an allocation");
    status = Capture([&] {
        int r = -1;
        std::thread([&] { std::uint64_t p; r = cuMemAlloc_v2(&p, 4); }).join();
        return r;
    });
    Expect(status == 201, "another thread without cuCtxSetCurrent: CUDA_ERROR_INVALID_CONTEXT");
    void *module, *function;
    const char* ptx = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry only_kernel(\n)\n{\nret;\n}\n";
    Expect(cuModuleLoadData(&module, ptx) == 0, "PTX module loads");
    status = Capture([&] { return cuModuleGetFunction(&function, module, "other_kernel"); });
    Expect(status == 500 && Has("no such kernel"), "a kernel the module lacks: CUDA_ERROR_NOT_FOUND");
    const char* newer = ".version 7.8\n.target sm_90\n.address_size 64\n.visible .entry k(\n)\n{\nret;\n}\n";
    status = Capture([&] { return cuModuleLoadData(&module, newer); });
    Expect(status == 209, "PTX for sm_90 on the sm_80 device: CUDA_ERROR_NO_BINARY_FOR_GPU");

    // cuBLAS: column-major semantics.
    Expect(cublasCreate_v2(&blas) == 0 && cublasSetStream_v2(blas, stream) == 0, "cuBLAS handle on the stream");
    std::uint64_t A, B, C;
    cuMemAlloc_v2(&A, 64 * 4);
    cuMemAlloc_v2(&B, 64 * 4);
    cuMemAlloc_v2(&C, 64 * 4);
    // A = [1 2 3; 4 5 6] (2×3) stored column-major with lda 3 (one padding row), B = [1 0; 0 1; 1 1] (3×2), ldb 3.
    float a[9] = {1, 4, -99, 2, 5, -99, 3, 6, -99}, b[6] = {1, 0, 1, 0, 1, 1}, c[8];
    for (float& x : c) x = NAN; // beta == 0: C must not be read
    cuMemcpyHtoDAsync_v2(A, a, sizeof a, stream);
    cuMemcpyHtoDAsync_v2(B, b, sizeof b, stream);
    cuMemcpyHtoDAsync_v2(C, c, sizeof c, stream);
    float one = 1, zero = 0, two = 2;
    Expect(cublasSgemm_v2(blas, 0, 0, 2, 2, 3, &one, reinterpret_cast<float*>(A), 3, reinterpret_cast<float*>(B), 3, &zero,
                          reinterpret_cast<float*>(C), 2) == 0,
           "Sgemm NN, lda 3");
    cuMemcpyDtoHAsync_v2(c, C, 4 * 4, stream);
    cuStreamSynchronize(stream);
    Expect(c[0] == 4 && c[1] == 10 && c[2] == 5 && c[3] == 11, "  C = A·B = [4 5; 10 11], NaN in C ignored with beta 0");
    float ones[4] = {1, 1, 1, 1}, ata[4];
    float at[6] = {1, 2, 3, 4, 5, 6}; // A stored 3×2 (k×m for op T), lda 3: A_stored = [1 4; 2 5; 3 6]
    cuMemcpyHtoDAsync_v2(A, at, sizeof at, stream);
    cuMemcpyHtoDAsync_v2(C, ones, sizeof ones, stream);
    // C(2×2) = op(A)·op(B) + 2·C with op(A) = A_storedᵀ (2×3), op(B) = A_stored (3×2): Gram matrix [14 32; 32 77] + 2.
    Expect(cublasGemmStridedBatchedEx(blas, 1, 0, 2, 2, 3, &one, reinterpret_cast<void*>(A), 0, 3, 0, reinterpret_cast<void*>(A), 0, 3, 0, &two,
                                      reinterpret_cast<void*>(C), 0, 2, 0, 1, 68, -1) == 0,
           "GemmStridedBatchedEx TN");
    cuMemcpyDtoHAsync_v2(ata, C, 4 * 4, stream);
    cuStreamSynchronize(stream);
    Expect(ata[0] == 16 && ata[1] == 34 && ata[2] == 34 && ata[3] == 79, "  C = AᵀA + 2·C");
    status = Capture([&] {
        return cublasGemmStridedBatchedEx(blas, 0, 0, 2, 2, 3, &one, reinterpret_cast<void*>(A), 0, 1, 0, reinterpret_cast<void*>(B), 0, 3, 0,
                                          &zero, reinterpret_cast<void*>(C), 0, 2, 0, 1, 68, -1);
    });
    Expect(status == 7 && Has("lda 1 < 2"), "lda below the rows of A: CUBLAS_STATUS_INVALID_VALUE");
    // Batched with a broadcast B (stride 0): two 1×1 products 3·5 and 4·5.
    float a2[2] = {3, 4}, b2[1] = {5}, c2[2];
    cuMemcpyHtoDAsync_v2(A, a2, sizeof a2, stream);
    cuMemcpyHtoDAsync_v2(B, b2, sizeof b2, stream);
    Expect(cublasGemmStridedBatchedEx(blas, 0, 0, 1, 1, 1, &one, reinterpret_cast<void*>(A), 0, 1, 1, reinterpret_cast<void*>(B), 0, 1, 0, &zero,
                                      reinterpret_cast<void*>(C), 0, 1, 1, 2, 68, -1) == 0,
           "batch 2, B broadcast (stride 0)");
    cuMemcpyDtoHAsync_v2(c2, C, sizeof c2, stream);
    cuStreamSynchronize(stream);
    Expect(c2[0] == 15 && c2[1] == 20, "  C = [15, 20]");
    status = Capture([&] {
        return cublasGemmStridedBatchedEx(blas, 0, 0, 1, 1, 1, &one, reinterpret_cast<void*>(A), 0, 1, 64, reinterpret_cast<void*>(B), 0, 1, 0,
                                          &zero, reinterpret_cast<void*>(C), 0, 1, 1, 2, 68, -1);
    });
    Expect(status == 13 && Has("runs past the end"), "a batch stride past the allocation: refused");

    // TF32: 1 + 2^-11 is a tie (rounds to even: 1), 1 + 3·2^-11 is a tie (rounds to even: 1 + 2^-9),
    // 1 + 2^-11 + 2^-20 is above the tie (1 + 2^-10); in FP32 compute all stay exact.
    float x[4] = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 1 + 0x1p-11f + 0x1p-20f, -3.14159265f}, y[4], unit[1] = {1};
    cuMemcpyHtoDAsync_v2(A, x, sizeof x, stream);
    cuMemcpyHtoDAsync_v2(B, unit, sizeof unit, stream);
    Expect(cublasGemmStridedBatchedEx(blas, 0, 0, 4, 1, 1, &one, reinterpret_cast<void*>(A), 0, 4, 0, reinterpret_cast<void*>(B), 0, 1, 0, &zero,
                                      reinterpret_cast<void*>(C), 0, 4, 0, 1, 77, -1) == 0,
           "compute type 32F_FAST_TF32");
    cuMemcpyDtoHAsync_v2(y, C, sizeof y, stream);
    cuStreamSynchronize(stream);
    bool tf32 = true;
    for (int i = 0; i < 4; i++) tf32 &= y[i] == Tf32(x[i]);
    Expect(tf32 && y[0] == 1 && y[1] == 1 + 0x1p-9f && y[2] == 1 + 0x1p-10f, "  inputs rounded to TF32, nearest-even");
    Expect(cublasSetMathMode(blas, 3) == 0 &&
               cublasSgemm_v2(blas, 0, 0, 4, 1, 1, &one, reinterpret_cast<float*>(A), 4, reinterpret_cast<float*>(B), 1, &zero, reinterpret_cast<float*>(C), 4) == 0,
           "Sgemm under CUBLAS_TF32_TENSOR_OP_MATH");
    cuMemcpyDtoHAsync_v2(y, C, sizeof y, stream);
    cuStreamSynchronize(stream);
    Expect(y[0] == 1 && y[1] == 1 + 0x1p-9f, "  rounded too");
    Expect(cublasSetMathMode(blas, 0) == 0 &&
               cublasSgemm_v2(blas, 0, 0, 4, 1, 1, &one, reinterpret_cast<float*>(A), 4, reinterpret_cast<float*>(B), 1, &zero, reinterpret_cast<float*>(C), 4) == 0,
           "Sgemm under the default math mode");
    cuMemcpyDtoHAsync_v2(y, C, sizeof y, stream);
    cuStreamSynchronize(stream);
    Expect(std::memcmp(x, y, sizeof x) == 0, "  exact");
    // A cuBLAS call is stream work like any other: after a NULL-stream copy it races.
    status = Capture([&] {
        cuMemcpyHtoD_v2(A, x, sizeof x);
        return cublasSgemm_v2(blas, 0, 0, 4, 1, 1, &one, reinterpret_cast<float*>(A), 4, reinterpret_cast<float*>(B), 1, &zero, reinterpret_cast<float*>(C), 4);
    });
    Expect(status == 13 && Has("cublasSgemm_v2") && Has("races with cuMemcpyHtoD_v2"), "Sgemm after a NULL-stream copy: stream race");

    std::printf("stand-in self-test: %s (%d failed)\n", failures == 0 ? "PASS" : "FAIL", failures);
    return failures == 0 ? 0 : 1;
}
