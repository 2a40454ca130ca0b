// cuda_standin.cpp — a stand-in libcuda.so.1 for running the engine's real driver interop without a GPU.
//
// A TEST DOUBLE. Nothing in the product loads it unless DOCO_CUDA_PATH names the folder it was built into
// (build.ps1 standin-check does that). It implements exactly the driver entry points src/Engine.Cuda/Interop/CuDriver.cs
// binds, with the real ABI and versioned names, over one pretend device:
//   - device memory is host memory (256-byte aligned); copies and memsets are memcpy/memset, done at once;
//   - cuModuleLoadData takes the CUBIN (or PTX) the real NVRTC produced and reads its kernel names from it;
//     cuLaunchKernel runs the kernel emulator's build of the same kernel (kernels/*.cu compiled by g++ after
//     kernels/emu/cuda_emu.h, one shared library per file exporting emu_<kernel>), found in the folder
//     DOCO_STANDIN_KERNELS names, else kernels/ beside this library;
//   - events are host clock readings.
// What it checks, each failure an error code plus one stderr line naming the call (see docs/gpu.md):
//   - stream discipline: work on the legacy NULL stream (the synchronous cuMemcpy*_v2/cuMemset*_v2, or stream 0)
//     while a CU_STREAM_NON_BLOCKING stream has work queued since its last synchronization, or the reverse. On a
//     GPU those two streams do not wait for each other, so such a mix is a race even when it happens to work;
//   - every copy, memset and cuBLAS operand lies inside one live allocation; frees match allocations;
//   - a current context on the calling thread (cuCtxSetCurrent binds it per thread, as the real driver does);
//   - launch limits of a real sm_80 device (1024 threads per block, 48 KiB dynamic shared memory without opt-in);
//   - module images: a CUBIN must be for this device's architecture, a function must exist in its module;
//   - event timing: both events recorded and complete (synchronized) before cuEventElapsedTime.
#include "standin.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#define CUAPI extern "C" __attribute__((visibility("default")))

namespace
{
// CUresult values (cuda.h).
enum : int
{
    Success = 0,
    InvalidValue = 1,
    OutOfMemory = 2,
    NotInitialized = 3,
    InvalidDevice = 101,
    InvalidImage = 200,
    InvalidContext = 201,
    NoBinaryForGpu = 209,
    InvalidHandle = 400,
    NotFound = 500,
    NotReady = 600,
    LaunchFailed = 719,
};

constexpr int kSmMajor = 8, kSmMinor = 0;
constexpr int kDriverVersion = 12040; // CUDA 12.4: accepts the PTX of any NVRTC up to 12.4
constexpr const char* kDeviceName = "doco stand-in (CPU emulation)";
constexpr std::uint64_t kTotalMemory = 16ull << 30;
constexpr unsigned kMaxDynamicShared = 48 * 1024; // without cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)
constexpr std::uintptr_t kStreamLegacy = 0x1, kStreamPerThread = 0x2;

struct Stream
{
    bool nonBlocking = false;
    bool live = true;
    std::uint64_t lastWork = 0; // sequence number of the latest work queued on it
    std::uint64_t synced = 0;   // every work item up to this number is known complete by the host
    std::string lastCall;       // the latest work queued, for the race message
    bool Pending() const { return lastWork > synced; }
};

struct Event
{
    bool recorded = false, timing = true;
    Stream* stream = nullptr;
    std::uint64_t seq = 0;
    std::chrono::steady_clock::time_point time;
};

using EmuEntry = int (*)(const unsigned*, const unsigned*, unsigned, void**);
using EmuLastError = const char* (*)();

struct Module
{
    std::set<std::string> entries;
    std::string kind; // "CUBIN sm_80" or "PTX sm_80", for messages
};

struct Function
{
    Module* module;
    std::string name;
    EmuEntry entry;
    EmuLastError lastError;
};

struct KernelLibrary
{
    std::string path;
    void* handle;
};

std::recursive_mutex gate;
bool initialized = false;
int primaryRefs = 0;
char primaryContext; // its address is the context handle
thread_local void* current = nullptr;
Stream legacy;                        // the NULL stream (handle 0 or CU_STREAM_LEGACY)
std::set<Stream*> streams;            // from cuStreamCreate (never freed: a stale handle must stay recognizable)
std::set<Event*> events;
std::set<Module*> modules;
std::set<Function*> functions;
std::map<std::uint64_t, std::uint64_t> allocations; // device pointer → bytes
std::set<void*> pinned;
std::uint64_t allocated = 0;
std::uint64_t sequence = 0;
std::vector<KernelLibrary> kernelLibraries;
bool kernelLibrariesLoaded = false;
std::string kernelFolder;
std::map<int, const char*> details; // status → "<text>: <detail of the latest such failure>" (strings never freed)

std::string Format(const char* fmt, ...)
{
    char buffer[2048];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

const char* Name(int status)
{
    switch (status)
    {
    case Success: return "CUDA_SUCCESS";
    case InvalidValue: return "CUDA_ERROR_INVALID_VALUE";
    case OutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
    case NotInitialized: return "CUDA_ERROR_NOT_INITIALIZED";
    case InvalidDevice: return "CUDA_ERROR_INVALID_DEVICE";
    case InvalidImage: return "CUDA_ERROR_INVALID_IMAGE";
    case InvalidContext: return "CUDA_ERROR_INVALID_CONTEXT";
    case NoBinaryForGpu: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case InvalidHandle: return "CUDA_ERROR_INVALID_HANDLE";
    case NotFound: return "CUDA_ERROR_NOT_FOUND";
    case NotReady: return "CUDA_ERROR_NOT_READY";
    case LaunchFailed: return "CUDA_ERROR_LAUNCH_FAILED";
    case kStandInStreamRace: return "DOCO_STANDIN_ERROR_STREAM_RACE";
    case kStandInUnsupported: return "DOCO_STANDIN_ERROR_UNSUPPORTED";
    default: return nullptr;
    }
}

const char* Text(int status)
{
    switch (status)
    {
    case Success: return "no error";
    case InvalidValue: return "invalid argument";
    case OutOfMemory: return "out of memory";
    case NotInitialized: return "initialization error";
    case InvalidDevice: return "invalid device ordinal";
    case InvalidImage: return "device kernel image is invalid";
    case InvalidContext: return "invalid device context";
    case NoBinaryForGpu: return "no kernel image is available for execution on the device";
    case InvalidHandle: return "invalid resource handle";
    case NotFound: return "named symbol not found";
    case NotReady: return "device not ready";
    case LaunchFailed: return "unspecified launch failure";
    case kStandInStreamRace:
        return "doco stand-in: work on the legacy NULL stream and on a non-blocking stream without a synchronization in between";
    case kStandInUnsupported: return "doco stand-in: this use of the entry point is not emulated";
    default: return nullptr;
    }
}

// Prints the line and remembers it as the detail of `status`, so the engine's exception (built from
// cuGetErrorString) names the calls as well.
int Fail(int status, const std::string& message)
{
    doco_standin_report(message.c_str());
    std::string text = std::string(Text(status)) + " [" + message + "]";
    details[status] = strdup(text.c_str()); // one small string per failure; a failing run is short
    return status;
}

std::string StreamName(const Stream* s)
{
    if (s == &legacy) return "the legacy NULL stream";
    return Format("%s stream %p", s->nonBlocking ? "non-blocking" : "blocking", static_cast<const void*>(s));
}

int Context(const char* call)
{
    if (!initialized) return Fail(NotInitialized, Format("%s before cuInit", call));
    if (current == nullptr || primaryRefs == 0)
        return Fail(InvalidContext, Format("%s with no current context on this thread (cuCtxSetCurrent binds a context per thread)", call));
    return Success;
}

int ResolveStream(void* handle, const char* call, Stream** out)
{
    auto h = reinterpret_cast<std::uintptr_t>(handle);
    if (h == 0 || h == kStreamLegacy)
    {
        *out = &legacy;
        return Success;
    }
    if (h == kStreamPerThread)
        return Fail(kStandInUnsupported, Format("%s on CU_STREAM_PER_THREAD: the per-thread default stream is not emulated", call));
    auto* s = static_cast<Stream*>(handle);
    if (!streams.count(s)) return Fail(InvalidHandle, Format("%s: %p is not a stream from cuStreamCreate", call, handle));
    if (!s->live) return Fail(InvalidHandle, Format("%s: stream %p was destroyed", call, handle));
    *out = s;
    return Success;
}

// The stream-discipline check, then the work counts as queued (and unsynchronized) on s.
int Enqueue(Stream* s, const std::string& call)
{
    if (s == &legacy)
    {
        for (Stream* t : streams)
            if (t->live && t->nonBlocking && t->Pending())
                return Fail(kStandInStreamRace,
                            Format("stream race: %s on the legacy NULL stream races with %s queued on %s: no stream, context or "
                                   "event synchronization in between, and the legacy stream does not wait for non-blocking streams",
                                   call.c_str(), t->lastCall.c_str(), StreamName(t).c_str()));
    }
    else if (s->nonBlocking && legacy.Pending())
    {
        return Fail(kStandInStreamRace,
                    Format("stream race: %s on %s races with %s queued on the legacy NULL stream: no stream, context or event "
                           "synchronization in between, and a non-blocking stream does not wait for the legacy stream",
                           call.c_str(), StreamName(s).c_str(), legacy.lastCall.c_str()));
    }
    s->lastWork = ++sequence;
    s->lastCall = call;
    return Success;
}

// The host waited for everything queued on s so far (and, for the legacy stream, on the blocking streams,
// which the legacy stream synchronizes with).
void Synced(Stream* s)
{
    s->synced = s->lastWork;
    if (s == &legacy)
        for (Stream* t : streams)
            if (!t->nonBlocking) t->synced = t->lastWork;
}

int Range(std::uint64_t ptr, std::uint64_t bytes, const char* what, const std::string& call)
{
    if (bytes == 0) return Success;
    auto it = allocations.upper_bound(ptr);
    if (it != allocations.begin())
    {
        --it;
        if (ptr >= it->first && ptr - it->first <= it->second && bytes <= it->second - (ptr - it->first)) return Success;
        if (ptr >= it->first && ptr - it->first < it->second)
            return Fail(InvalidValue, Format("%s: %s 0x%llx + %llu bytes runs past the end of its allocation (0x%llx, %llu bytes)",
                                             call.c_str(), what, (unsigned long long)ptr, (unsigned long long)bytes,
                                             (unsigned long long)it->first, (unsigned long long)it->second));
    }
    return Fail(InvalidValue, Format("%s: %s 0x%llx is not device memory from cuMemAlloc (or it was freed)", call.c_str(), what,
                                     (unsigned long long)ptr));
}

std::string Folder(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

int LoadKernelLibraries(const char* call)
{
    if (kernelLibrariesLoaded) return Success;
    const char* env = std::getenv("DOCO_STANDIN_KERNELS");
    if (env != nullptr && *env != '\0') kernelFolder = env;
    else
    {
        Dl_info info{};
        dladdr(reinterpret_cast<void*>(&LoadKernelLibraries), &info);
        kernelFolder = Folder(info.dli_fname != nullptr ? info.dli_fname : ".") + "/kernels";
    }
    DIR* dir = opendir(kernelFolder.c_str());
    if (dir == nullptr)
        return Fail(NotFound, Format("%s: no kernel emulator folder %s (set DOCO_STANDIN_KERNELS, or build it with build.ps1 standin-check)",
                                     call, kernelFolder.c_str()));
    std::vector<std::string> names;
    while (dirent* e = readdir(dir))
    {
        std::string n = e->d_name;
        if (n.size() > 3 && n.compare(n.size() - 3, 3, ".so") == 0) names.push_back(n);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    if (names.empty()) return Fail(NotFound, Format("%s: kernel emulator folder %s holds no .so", call, kernelFolder.c_str()));
    for (const auto& n : names)
    {
        std::string path = kernelFolder + "/" + n;
        void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) return Fail(InvalidImage, Format("%s: cannot load kernel library %s: %s", call, path.c_str(), dlerror()));
        kernelLibraries.push_back({path, h});
    }
    kernelLibrariesLoaded = true;
    return Success;
}

// ---- module images: the kernel names (and the architecture) out of a CUBIN or PTX

template <typename T> T Read(const unsigned char* p) // ELF fields are unaligned in general
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

int ParseCubin(const unsigned char* image, const char* call, Module* m)
{
    // ELF64, little-endian, EM_CUDA (190); the header and section table tell how far the image extends.
    if (image[4] != 2 || image[5] != 1) return Fail(InvalidImage, Format("%s: CUBIN is not a 64-bit little-endian ELF", call));
    if (Read<std::uint16_t>(image + 18) != 190)
        return Fail(InvalidImage, Format("%s: ELF machine %u is not EM_CUDA (190)", call, Read<std::uint16_t>(image + 18)));
    std::uint32_t flags = Read<std::uint32_t>(image + 48);
    int sm = static_cast<int>(flags & 0xff); // EF_CUDA_SM (the pre-CUDA-12.8 ELF ABI NVRTC 11/12 write)
    if (sm / 10 != kSmMajor || sm % 10 > kSmMinor)
        return Fail(NoBinaryForGpu, Format("%s: CUBIN for sm_%d cannot run on this sm_%d%d device", call, sm, kSmMajor, kSmMinor));
    std::uint64_t shoff = Read<std::uint64_t>(image + 40);
    std::uint16_t shentsize = Read<std::uint16_t>(image + 58), shnum = Read<std::uint16_t>(image + 60);
    if (shentsize != 64 || shnum == 0 || shoff == 0) return Fail(InvalidImage, Format("%s: CUBIN has no section table", call));
    auto section = [&](unsigned i) { return image + shoff + 64ull * i; };
    for (unsigned i = 0; i < shnum; i++)
    {
        const unsigned char* sh = section(i);
        if (Read<std::uint32_t>(sh + 4) != 2) continue; // SHT_SYMTAB
        std::uint64_t off = Read<std::uint64_t>(sh + 24), size = Read<std::uint64_t>(sh + 32);
        const unsigned char* strtab = image + Read<std::uint64_t>(section(Read<std::uint32_t>(sh + 40)) + 24);
        for (std::uint64_t s = 0; s + 24 <= size; s += 24)
        {
            const unsigned char* sym = image + off + s;
            unsigned char info = sym[4], other = sym[5];
            // A kernel entry: a global function marked STO_CUDA_ENTRY (0x10); device functions are not.
            if ((info & 0xf) == 2 && (info >> 4) == 1 && (other & 0x10) != 0)
                m->entries.insert(reinterpret_cast<const char*>(strtab + Read<std::uint32_t>(sym)));
        }
    }
    m->kind = Format("CUBIN sm_%d", sm);
    return Success;
}

int ParsePtx(const char* text, const char* call, Module* m)
{
    std::string ptx = text;
    auto target = ptx.find(".target");
    if (ptx.find(".version") == std::string::npos || target == std::string::npos)
        return Fail(InvalidImage, Format("%s: image is neither an ELF CUBIN nor PTX text (.version/.target missing)", call));
    int sm = 0;
    std::sscanf(ptx.c_str() + target, ".target sm_%d", &sm);
    if (sm == 0 || sm > kSmMajor * 10 + kSmMinor)
        return Fail(NoBinaryForGpu, Format("%s: PTX .target sm_%d is newer than this sm_%d%d device", call, sm, kSmMajor, kSmMinor));
    for (std::size_t at = ptx.find(".entry"); at != std::string::npos; at = ptx.find(".entry", at + 6))
    {
        std::size_t b = at + 6;
        while (b < ptx.size() && (ptx[b] == ' ' || ptx[b] == '\t')) b++;
        std::size_t e = b;
        while (e < ptx.size() && (std::isalnum(static_cast<unsigned char>(ptx[e])) || ptx[e] == '_' || ptx[e] == '$')) e++;
        if (e > b) m->entries.insert(ptx.substr(b, e - b));
    }
    m->kind = Format("PTX sm_%d", sm);
    return Success;
}

std::string Bytes(std::size_t n) { return Format("%zu bytes", n); }

int Memset(std::uint64_t ptr, unsigned value, std::size_t count, int width, void* stream, const char* api)
{
    std::lock_guard lock(gate);
    std::string call = Format("%s(0x%llx, %s)", api, (unsigned long long)ptr, Bytes(count * width).c_str());
    if (int e = Context(api)) return e;
    Stream* s;
    if (int e = ResolveStream(stream, api, &s)) return e;
    if (width == 4 && ptr % 4 != 0) return Fail(InvalidValue, Format("%s: destination not 4-byte aligned", call.c_str()));
    if (int e = Range(ptr, std::uint64_t(count) * width, "destination", call)) return e;
    if (int e = Enqueue(s, call)) return e;
    auto* p = reinterpret_cast<unsigned char*>(ptr);
    if (width == 1) std::memset(p, static_cast<int>(value & 0xff), count);
    else
        for (std::size_t i = 0; i < count; i++) std::memcpy(p + 4 * i, &value, 4);
    return Success;
}

enum class Dir { HtoD, DtoH, DtoD };

int Copy(void* dst, const void* src, std::size_t bytes, Dir dir, void* stream, bool sync, const char* api)
{
    std::lock_guard lock(gate);
    auto d = reinterpret_cast<std::uint64_t>(dst), s = reinterpret_cast<std::uint64_t>(src);
    std::string call = Format("%s(dst 0x%llx, src 0x%llx, %s)", api, (unsigned long long)d, (unsigned long long)s, Bytes(bytes).c_str());
    if (int e = Context(api)) return e;
    Stream* st;
    if (int e = ResolveStream(stream, api, &st)) return e;
    if (dir != Dir::DtoH)
        if (int e = Range(d, bytes, "destination", call)) return e;
    if (dir != Dir::HtoD)
        if (int e = Range(s, bytes, "source", call)) return e;
    if (dir == Dir::DtoD && bytes > 0 && d < s + bytes && s < d + bytes)
        return Fail(InvalidValue, Format("%s: source and destination overlap", call.c_str()));
    if (int e = Enqueue(st, call)) return e;
    if (bytes > 0) std::memcpy(dst, src, bytes);
    // A synchronous device-to-host copy returns when the data is on the host: the legacy stream is drained.
    if (sync && dir == Dir::DtoH) Synced(st);
    return Success;
}
} // namespace

// ---- shared with the stand-in libcublas

STANDIN_API void doco_standin_report(const char* message)
{
    std::fprintf(stderr, "doco stand-in: %s\n", message);
    std::fflush(stderr);
}

STANDIN_API int doco_standin_enqueue(void* stream, const char* call)
{
    std::lock_guard lock(gate);
    Stream* s;
    if (int e = ResolveStream(stream, call, &s)) return e;
    return Enqueue(s, call);
}

STANDIN_API int doco_standin_check_range(std::uint64_t ptr, std::uint64_t bytes, const char* what, const char* call)
{
    std::lock_guard lock(gate);
    return Range(ptr, bytes, what, call);
}

STANDIN_API int doco_standin_check_stream(void* stream, const char* call)
{
    std::lock_guard lock(gate);
    Stream* s;
    return ResolveStream(stream, call, &s);
}

STANDIN_API int doco_standin_check_context(const char* call)
{
    std::lock_guard lock(gate);
    return Context(call);
}

// ---- initialization, device, context

CUAPI int cuInit(unsigned flags)
{
    std::lock_guard lock(gate);
    if (flags != 0) return Fail(InvalidValue, Format("cuInit(%u): flags must be 0", flags));
    initialized = true;
    return Success;
}

CUAPI int cuDriverGetVersion(int* version)
{
    if (version == nullptr) return InvalidValue;
    *version = kDriverVersion;
    return Success;
}

CUAPI int cuDeviceGetCount(int* count)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDeviceGetCount before cuInit");
    if (count == nullptr) return InvalidValue;
    *count = 1;
    return Success;
}

CUAPI int cuDeviceGet(int* device, int ordinal)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDeviceGet before cuInit");
    if (device == nullptr) return InvalidValue;
    if (ordinal != 0) return Fail(InvalidDevice, Format("cuDeviceGet(%d): the stand-in has one device, ordinal 0", ordinal));
    *device = 0;
    return Success;
}

CUAPI int cuDeviceGetName(char* name, int len, int device)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDeviceGetName before cuInit");
    if (device != 0) return Fail(InvalidDevice, Format("cuDeviceGetName(device %d)", device));
    if (name == nullptr || len <= 0) return InvalidValue;
    std::snprintf(name, static_cast<std::size_t>(len), "%s", kDeviceName);
    return Success;
}

CUAPI int cuDeviceGetAttribute(int* value, int attribute, int device)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDeviceGetAttribute before cuInit");
    if (device != 0) return Fail(InvalidDevice, Format("cuDeviceGetAttribute(device %d)", device));
    if (value == nullptr) return InvalidValue;
    // An A100-like sm_80 device (CUdevice_attribute numbers from cuda.h).
    switch (attribute)
    {
    case 1: *value = 1024; break;          // MAX_THREADS_PER_BLOCK
    case 2: *value = 1024; break;          // MAX_BLOCK_DIM_X
    case 3: *value = 1024; break;          // MAX_BLOCK_DIM_Y
    case 4: *value = 64; break;            // MAX_BLOCK_DIM_Z
    case 5: *value = 2147483647; break;    // MAX_GRID_DIM_X
    case 6: *value = 65535; break;         // MAX_GRID_DIM_Y
    case 7: *value = 65535; break;         // MAX_GRID_DIM_Z
    case 8: *value = 48 * 1024; break;     // MAX_SHARED_MEMORY_PER_BLOCK
    case 9: *value = 64 * 1024; break;     // TOTAL_CONSTANT_MEMORY
    case 10: *value = 32; break;           // WARP_SIZE
    case 12: *value = 65536; break;        // MAX_REGISTERS_PER_BLOCK
    case 13: *value = 1410000; break;      // CLOCK_RATE (kHz)
    case 16: *value = 108; break;          // MULTIPROCESSOR_COUNT
    case 36: *value = 1215000; break;      // MEMORY_CLOCK_RATE (kHz)
    case 37: *value = 5120; break;         // GLOBAL_MEMORY_BUS_WIDTH
    case 38: *value = 40 * 1024 * 1024; break; // L2_CACHE_SIZE
    case 39: *value = 2048; break;         // MAX_THREADS_PER_MULTIPROCESSOR
    case 41: *value = 1; break;            // UNIFIED_ADDRESSING
    case 75: *value = kSmMajor; break;     // COMPUTE_CAPABILITY_MAJOR
    case 76: *value = kSmMinor; break;     // COMPUTE_CAPABILITY_MINOR
    case 81: *value = 164 * 1024; break;   // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
    case 97: *value = 163 * 1024; break;   // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    default:
        return Fail(kStandInUnsupported, Format("cuDeviceGetAttribute(%d): attribute not emulated (add it to tests/StandIn/cuda_standin.cpp)", attribute));
    }
    return Success;
}

CUAPI int cuDeviceTotalMem_v2(std::size_t* bytes, int device)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDeviceTotalMem_v2 before cuInit");
    if (device != 0) return Fail(InvalidDevice, Format("cuDeviceTotalMem_v2(device %d)", device));
    if (bytes == nullptr) return InvalidValue;
    *bytes = kTotalMemory;
    return Success;
}

CUAPI int cuDevicePrimaryCtxRetain(void** context, int device)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDevicePrimaryCtxRetain before cuInit");
    if (device != 0) return Fail(InvalidDevice, Format("cuDevicePrimaryCtxRetain(device %d)", device));
    if (context == nullptr) return InvalidValue;
    primaryRefs++;
    *context = &primaryContext;
    return Success;
}

CUAPI int cuDevicePrimaryCtxRelease_v2(int device)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuDevicePrimaryCtxRelease_v2 before cuInit");
    if (device != 0) return Fail(InvalidDevice, Format("cuDevicePrimaryCtxRelease_v2(device %d)", device));
    if (primaryRefs == 0) return Fail(InvalidContext, "cuDevicePrimaryCtxRelease_v2 without a matching cuDevicePrimaryCtxRetain");
    primaryRefs--;
    return Success;
}

CUAPI int cuCtxSetCurrent(void* context)
{
    std::lock_guard lock(gate);
    if (!initialized) return Fail(NotInitialized, "cuCtxSetCurrent before cuInit");
    if (context != nullptr && (context != &primaryContext || primaryRefs == 0))
        return Fail(InvalidContext, Format("cuCtxSetCurrent(%p): not a retained primary context", context));
    current = context;
    return Success;
}

CUAPI int cuCtxSynchronize()
{
    std::lock_guard lock(gate);
    if (int e = Context("cuCtxSynchronize")) return e;
    Synced(&legacy);
    for (Stream* s : streams) Synced(s);
    return Success;
}

// ---- streams and events

CUAPI int cuStreamCreate(void** stream, unsigned flags)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuStreamCreate")) return e;
    if (stream == nullptr || flags > 1) return Fail(InvalidValue, Format("cuStreamCreate(flags %u): flags must be 0 or CU_STREAM_NON_BLOCKING", flags));
    auto* s = new Stream();
    s->nonBlocking = flags == 1;
    streams.insert(s);
    *stream = s;
    return Success;
}

CUAPI int cuStreamDestroy_v2(void* stream)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuStreamDestroy_v2")) return e;
    Stream* s;
    if (int e = ResolveStream(stream, "cuStreamDestroy_v2", &s)) return e;
    if (s == &legacy) return Fail(InvalidHandle, "cuStreamDestroy_v2 of the NULL stream");
    s->live = false; // its queued work still completes, as on a GPU; the handle is dead
    return Success;
}

CUAPI int cuStreamSynchronize(void* stream)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuStreamSynchronize")) return e;
    Stream* s;
    if (int e = ResolveStream(stream, "cuStreamSynchronize", &s)) return e;
    Synced(s);
    return Success;
}

CUAPI int cuEventCreate(void** event, unsigned flags)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuEventCreate")) return e;
    if (event == nullptr || (flags & ~0xfu) != 0) return Fail(InvalidValue, Format("cuEventCreate(flags %u)", flags));
    auto* ev = new Event();
    ev->timing = (flags & 2) == 0; // CU_EVENT_DISABLE_TIMING
    events.insert(ev);
    *event = ev;
    return Success;
}

CUAPI int cuEventRecord(void* event, void* stream)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuEventRecord")) return e;
    auto* ev = static_cast<Event*>(event);
    if (!events.count(ev)) return Fail(InvalidHandle, Format("cuEventRecord: %p is not an event", event));
    Stream* s;
    if (int e = ResolveStream(stream, "cuEventRecord", &s)) return e;
    // Work runs at once here, so "now" is when everything queued before the event finished.
    ev->recorded = true;
    ev->stream = s;
    ev->seq = s->lastWork;
    ev->time = std::chrono::steady_clock::now();
    return Success;
}

CUAPI int cuEventSynchronize(void* event)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuEventSynchronize")) return e;
    auto* ev = static_cast<Event*>(event);
    if (!events.count(ev)) return Fail(InvalidHandle, Format("cuEventSynchronize: %p is not an event", event));
    if (ev->recorded) ev->stream->synced = std::max(ev->stream->synced, ev->seq);
    return Success;
}

CUAPI int cuEventElapsedTime(float* ms, void* start, void* end)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuEventElapsedTime")) return e;
    auto *a = static_cast<Event*>(start), *b = static_cast<Event*>(end);
    if (ms == nullptr) return InvalidValue;
    if (!events.count(a) || !events.count(b)) return Fail(InvalidHandle, "cuEventElapsedTime: not an event");
    if (!a->recorded || !b->recorded) return Fail(InvalidHandle, "cuEventElapsedTime: an event was never recorded");
    if (!a->timing || !b->timing) return Fail(InvalidHandle, "cuEventElapsedTime: an event was created with CU_EVENT_DISABLE_TIMING");
    // On a GPU an event whose work may still run gives CUDA_ERROR_NOT_READY: the host must wait for it first.
    for (Event* ev : {a, b})
        if (ev->stream->synced < ev->seq)
            return Fail(NotReady, Format("cuEventElapsedTime: an event on %s was not waited for (cuEventSynchronize first)",
                                         StreamName(ev->stream).c_str()));
    *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
    return Success;
}

CUAPI int cuEventDestroy_v2(void* event)
{
    std::lock_guard lock(gate);
    auto* ev = static_cast<Event*>(event);
    if (!events.erase(ev)) return Fail(InvalidHandle, Format("cuEventDestroy_v2: %p is not an event", event));
    delete ev;
    return Success;
}

// ---- memory

CUAPI int cuMemAlloc_v2(std::uint64_t* dptr, std::size_t bytes)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuMemAlloc_v2")) return e;
    if (dptr == nullptr || bytes == 0) return Fail(InvalidValue, Format("cuMemAlloc_v2(%zu bytes): size must be positive", bytes));
    if (bytes > kTotalMemory - allocated)
        return Fail(OutOfMemory, Format("cuMemAlloc_v2(%zu bytes): %llu of %llu bytes already allocated", bytes,
                                        (unsigned long long)allocated, (unsigned long long)kTotalMemory));
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (p == nullptr) return Fail(OutOfMemory, Format("cuMemAlloc_v2(%zu bytes): host memory exhausted", bytes));
    allocations[reinterpret_cast<std::uint64_t>(p)] = bytes;
    allocated += bytes;
    *dptr = reinterpret_cast<std::uint64_t>(p);
    return Success;
}

CUAPI int cuMemFree_v2(std::uint64_t dptr)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuMemFree_v2")) return e;
    auto it = allocations.find(dptr);
    if (it == allocations.end())
        return Fail(InvalidValue, Format("cuMemFree_v2(0x%llx): not an allocation from cuMemAlloc_v2 (or already freed)", (unsigned long long)dptr));
    allocated -= it->second;
    allocations.erase(it);
    std::free(reinterpret_cast<void*>(dptr));
    return Success;
}

CUAPI int cuMemGetInfo_v2(std::size_t* free, std::size_t* total)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuMemGetInfo_v2")) return e;
    if (free == nullptr || total == nullptr) return InvalidValue;
    *free = kTotalMemory - allocated;
    *total = kTotalMemory;
    return Success;
}

CUAPI int cuMemsetD8_v2(std::uint64_t dptr, unsigned char value, std::size_t count)
{
    return Memset(dptr, value, count, 1, nullptr, "cuMemsetD8_v2");
}

CUAPI int cuMemsetD32_v2(std::uint64_t dptr, unsigned value, std::size_t count)
{
    return Memset(dptr, value, count, 4, nullptr, "cuMemsetD32_v2");
}

CUAPI int cuMemsetD32Async(std::uint64_t dptr, unsigned value, std::size_t count, void* stream)
{
    return Memset(dptr, value, count, 4, stream, "cuMemsetD32Async");
}

CUAPI int cuMemcpyHtoD_v2(std::uint64_t dst, const void* src, std::size_t bytes)
{
    return Copy(reinterpret_cast<void*>(dst), src, bytes, Dir::HtoD, nullptr, true, "cuMemcpyHtoD_v2");
}

CUAPI int cuMemcpyDtoH_v2(void* dst, std::uint64_t src, std::size_t bytes)
{
    return Copy(dst, reinterpret_cast<const void*>(src), bytes, Dir::DtoH, nullptr, true, "cuMemcpyDtoH_v2");
}

CUAPI int cuMemcpyDtoD_v2(std::uint64_t dst, std::uint64_t src, std::size_t bytes)
{
    return Copy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes, Dir::DtoD, nullptr, true, "cuMemcpyDtoD_v2");
}

CUAPI int cuMemcpyHtoDAsync_v2(std::uint64_t dst, const void* src, std::size_t bytes, void* stream)
{
    return Copy(reinterpret_cast<void*>(dst), src, bytes, Dir::HtoD, stream, false, "cuMemcpyHtoDAsync_v2");
}

CUAPI int cuMemcpyDtoHAsync_v2(void* dst, std::uint64_t src, std::size_t bytes, void* stream)
{
    return Copy(dst, reinterpret_cast<const void*>(src), bytes, Dir::DtoH, stream, false, "cuMemcpyDtoHAsync_v2");
}

CUAPI int cuMemcpyDtoDAsync_v2(std::uint64_t dst, std::uint64_t src, std::size_t bytes, void* stream)
{
    return Copy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes, Dir::DtoD, stream, false, "cuMemcpyDtoDAsync_v2");
}

CUAPI int cuMemAllocHost_v2(void** host, std::size_t bytes)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuMemAllocHost_v2")) return e;
    if (host == nullptr || bytes == 0) return Fail(InvalidValue, Format("cuMemAllocHost_v2(%zu bytes)", bytes));
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (p == nullptr) return Fail(OutOfMemory, Format("cuMemAllocHost_v2(%zu bytes): host memory exhausted", bytes));
    pinned.insert(p);
    *host = p;
    return Success;
}

CUAPI int cuMemFreeHost(void* host)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuMemFreeHost")) return e;
    if (!pinned.erase(host)) return Fail(InvalidValue, Format("cuMemFreeHost(%p): not from cuMemAllocHost_v2 (or already freed)", host));
    std::free(host);
    return Success;
}

// ---- modules and launches

CUAPI int cuModuleLoadData(void** module, const void* image)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuModuleLoadData")) return e;
    if (module == nullptr || image == nullptr) return InvalidValue;
    auto* bytes = static_cast<const unsigned char*>(image);
    auto* m = new Module();
    int e = std::memcmp(bytes, "\x7f" "ELF", 4) == 0 ? ParseCubin(bytes, "cuModuleLoadData", m)
                                                    : ParsePtx(static_cast<const char*>(image), "cuModuleLoadData", m);
    if (e == Success && m->entries.empty()) e = Fail(InvalidImage, Format("cuModuleLoadData: the %s image has no kernel entry", m->kind.c_str()));
    if (e != Success)
    {
        delete m;
        return e;
    }
    modules.insert(m);
    *module = m;
    return Success;
}

CUAPI int cuModuleUnload(void* module)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuModuleUnload")) return e;
    auto* m = static_cast<Module*>(module);
    if (!modules.erase(m)) return Fail(InvalidHandle, Format("cuModuleUnload: %p is not a loaded module", module));
    for (auto it = functions.begin(); it != functions.end();)
        if ((*it)->module == m) it = functions.erase(it);
        else ++it;
    delete m;
    return Success;
}

CUAPI int cuModuleGetFunction(void** function, void* module, const char* name)
{
    std::lock_guard lock(gate);
    if (int e = Context("cuModuleGetFunction")) return e;
    auto* m = static_cast<Module*>(module);
    if (function == nullptr || name == nullptr) return InvalidValue;
    if (!modules.count(m)) return Fail(InvalidHandle, Format("cuModuleGetFunction(%s): %p is not a loaded module", name, module));
    if (!m->entries.count(name)) return Fail(NotFound, Format("cuModuleGetFunction(%s): the %s module has no such kernel", name, m->kind.c_str()));
    if (int e = LoadKernelLibraries("cuModuleGetFunction")) return e;
    std::string symbol = std::string("emu_") + name;
    for (const auto& lib : kernelLibraries)
        if (void* entry = dlsym(lib.handle, symbol.c_str()))
        {
            auto* f = new Function{m, name, reinterpret_cast<EmuEntry>(entry), reinterpret_cast<EmuLastError>(dlsym(lib.handle, "emu_last_error"))};
            functions.insert(f);
            *function = f;
            return Success;
        }
    return Fail(NotFound, Format("cuModuleGetFunction(%s): no kernel library in %s exports %s (rebuild it: build.ps1 standin-check)", name,
                                 kernelFolder.c_str(), symbol.c_str()));
}

CUAPI int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                         void* stream, void** params, void** extra)
{
    std::lock_guard lock(gate); // one launch at a time: the emulator keeps __shared__ arrays per process
    if (int e = Context("cuLaunchKernel")) return e;
    auto* f = static_cast<Function*>(function);
    if (!functions.count(f)) return Fail(InvalidHandle, Format("cuLaunchKernel: %p is not a function from cuModuleGetFunction", function));
    std::string call = Format("cuLaunchKernel(%s, grid %ux%ux%u, block %ux%ux%u, %u shared bytes)", f->name.c_str(), gx, gy, gz, bx, by, bz, shared);
    if (extra != nullptr) return Fail(kStandInUnsupported, call + ": the extra argument form is not emulated (pass kernelParams)");
    if (params == nullptr) return Fail(InvalidValue, call + ": no kernelParams");
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return Fail(InvalidValue, call + ": a zero grid or block dimension");
    if (gx > 2147483647u || gy > 65535 || gz > 65535) return Fail(InvalidValue, call + ": grid over 2^31-1 x 65535 x 65535");
    if (bx > 1024 || by > 1024 || bz > 64 || std::uint64_t(bx) * by * bz > 1024)
        return Fail(InvalidValue, call + ": block over 1024 threads (or 1024 x 1024 x 64)");
    if (shared > kMaxDynamicShared) return Fail(InvalidValue, call + ": over 48 KiB of dynamic shared memory needs cuFuncSetAttribute");
    Stream* s;
    if (int e = ResolveStream(stream, "cuLaunchKernel", &s)) return e;
    if (int e = Enqueue(s, call)) return e;
    unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    if (f->entry(grid, block, shared, params) != 0)
        return Fail(LaunchFailed, call + ": the emulated kernel failed: " + (f->lastError != nullptr ? f->lastError() : "(no emu_last_error)"));
    return Success;
}

// ---- errors

CUAPI int cuGetErrorName(int status, const char** name)
{
    if (name == nullptr) return InvalidValue;
    const char* n = Name(status);
    *name = n;
    return n != nullptr ? Success : InvalidValue;
}

CUAPI int cuGetErrorString(int status, const char** text)
{
    if (text == nullptr) return InvalidValue;
    std::lock_guard lock(gate);
    auto it = details.find(status);
    const char* t = it != details.end() ? it->second : Text(status);
    *text = t;
    return t != nullptr ? Success : InvalidValue;
}
