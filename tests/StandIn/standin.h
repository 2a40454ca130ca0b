// standin.h — what the stand-in libcuda exports for the stand-in libcublas (and nothing else uses).
//
// The two libraries share one picture of the device: libcublas's GEMMs are work queued on a stream, so they go
// through the same stream-discipline check as the driver's copies and launches, and their operands must lie
// inside device allocations made by cuMemAlloc. Names carry a doco_standin_ prefix so they can never collide
// with a real CUDA entry point.
#pragma once

#include <cstdint>

#define STANDIN_API extern "C" __attribute__((visibility("default")))

// CUresult codes of the stand-in's own (no real driver returns them; cuGetErrorName/String know them).
constexpr int kStandInStreamRace = 9001;  // NULL-stream work mixed with non-blocking-stream work, no sync between
constexpr int kStandInUnsupported = 9002; // an argument the stand-in does not emulate (it says which)

// Checks that `call` may run on `stream` now (0 or CU_STREAM_LEGACY: the legacy default stream) and records it
// as that stream's latest unsynchronized work. Returns 0, or a CUresult after printing why to stderr.
STANDIN_API int doco_standin_enqueue(void* stream, const char* call);

// 0 when [ptr, ptr + bytes) lies inside one live cuMemAlloc allocation, else CUDA_ERROR_INVALID_VALUE after
// printing which operand (`what`) of `call` is outside.
STANDIN_API int doco_standin_check_range(std::uint64_t ptr, std::uint64_t bytes, const char* what, const char* call);

// 0 when `stream` is 0, CU_STREAM_LEGACY or a live stream from cuStreamCreate, else CUDA_ERROR_INVALID_HANDLE.
STANDIN_API int doco_standin_check_stream(void* stream, const char* call);

// 0 when cuInit ran and this thread has a current context, else a CUresult (after printing why).
STANDIN_API int doco_standin_check_context(const char* call);

// Prints "doco stand-in: <message>" to stderr as one line (flushed at once: it must survive a crash after it).
STANDIN_API void doco_standin_report(const char* message);
