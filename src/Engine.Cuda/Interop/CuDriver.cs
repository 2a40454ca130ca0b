using System.Runtime.InteropServices;

namespace Engine.Cuda.Interop;

/// <summary>
/// CUDA driver API (libcuda), the subset the backend uses. Handles are opaque pointers, device addresses are
/// 64-bit integers (CUdeviceptr), sizes are size_t. The _v2 entry points are the ones cuda.h maps the plain
/// names to since CUDA 4.0/11.0. Every call returns a CUresult; <see cref="Check"/> turns it into a typed exception.
/// </summary>
internal static unsafe partial class CuDriver
{
    private const string Lib = NativeLibraryResolver.DriverName;

    // The import name is a logical one; the resolver maps it to the versioned file before the first call.
    static CuDriver() => NativeLibraryResolver.Install();

    public const int Success = 0;

    // CUdevice_attribute values (cuda.h).
    public const int AttrMaxThreadsPerBlock = 1;
    public const int AttrMaxSharedMemoryPerBlock = 8;
    public const int AttrWarpSize = 10;
    public const int AttrMultiprocessorCount = 16;
    public const int AttrComputeCapabilityMajor = 75;
    public const int AttrComputeCapabilityMinor = 76;

    public const uint EventDefault = 0;
    public const uint StreamNonBlocking = 1;

    [LibraryImport(Lib)] public static partial int cuInit(uint flags);
    [LibraryImport(Lib)] public static partial int cuDriverGetVersion(int* version);
    [LibraryImport(Lib)] public static partial int cuDeviceGetCount(int* count);
    [LibraryImport(Lib)] public static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Lib)] public static partial int cuDeviceGetName(byte* name, int len, int device);
    [LibraryImport(Lib)] public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);
    [LibraryImport(Lib)] public static partial int cuDeviceTotalMem_v2(nuint* bytes, int device);

    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Lib)] public static partial int cuCtxSetCurrent(nint context);
    [LibraryImport(Lib)] public static partial int cuCtxSynchronize();

    [LibraryImport(Lib)] public static partial int cuStreamCreate(nint* stream, uint flags);
    [LibraryImport(Lib)] public static partial int cuStreamDestroy_v2(nint stream);
    [LibraryImport(Lib)] public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(Lib)] public static partial int cuEventCreate(nint* evt, uint flags);
    [LibraryImport(Lib)] public static partial int cuEventRecord(nint evt, nint stream);
    [LibraryImport(Lib)] public static partial int cuEventSynchronize(nint evt);
    [LibraryImport(Lib)] public static partial int cuEventElapsedTime(float* milliseconds, nint start, nint end);
    [LibraryImport(Lib)] public static partial int cuEventDestroy_v2(nint evt);

    [LibraryImport(Lib)] public static partial int cuMemAlloc_v2(ulong* dptr, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemFree_v2(ulong dptr);
    [LibraryImport(Lib)] public static partial int cuMemGetInfo_v2(nuint* free, nuint* total);
    [LibraryImport(Lib)] public static partial int cuMemsetD8_v2(ulong dptr, byte value, nuint count);
    [LibraryImport(Lib)] public static partial int cuMemsetD32_v2(ulong dptr, uint value, nuint count);
    [LibraryImport(Lib)] public static partial int cuMemsetD32Async(ulong dptr, uint value, nuint count, nint stream);
    [LibraryImport(Lib)] public static partial int cuMemcpyHtoD_v2(ulong dst, void* src, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoH_v2(void* dst, ulong src, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoD_v2(ulong dst, ulong src, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoDAsync_v2(ulong dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] public static partial int cuMemAllocHost_v2(void** host, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemFreeHost(void* host);

    [LibraryImport(Lib)] public static partial int cuModuleLoadData(nint* module, void* image);
    [LibraryImport(Lib)] public static partial int cuModuleUnload(nint module);
    [LibraryImport(Lib)] public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);
    [LibraryImport(Lib)]
    public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
                                             uint sharedBytes, nint stream, void** args, void** extra);

    [LibraryImport(Lib)] public static partial int cuGetErrorName(int status, byte** name);
    [LibraryImport(Lib)] public static partial int cuGetErrorString(int status, byte** text);

    /// <summary>Throws <see cref="CuDriverException"/> for any status but CUDA_SUCCESS.</summary>
    public static void Check(int status, string call)
    {
        if (status != Success) throw Error(status, call);
    }

    public static CuDriverException Error(int status, string call)
    {
        byte* name = null, text = null;
        string n = cuGetErrorName(status, &name) == Success && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? "" : "CUDA_ERROR_UNKNOWN";
        string t = cuGetErrorString(status, &text) == Success && text != null ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "unrecognized status";
        return new CuDriverException(status, n, t, call);
    }
}
