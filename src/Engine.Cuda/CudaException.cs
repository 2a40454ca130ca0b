namespace Engine.Cuda;

/// <summary>
/// A failed CUDA call: which API (driver, cuBLAS, NVRTC), the status as number, name and text, and the call
/// that failed (e.g. "cuMemAlloc_v2(1048576 bytes)").
/// </summary>
public class CudaException : Exception
{
    public CudaException(string api, int status, string errorName, string errorText, string call)
        : base($"{api} error {status} {errorName} ({errorText}) in {call}")
    {
        Api = api;
        Status = status;
        ErrorName = errorName;
        ErrorText = errorText;
        Call = call;
    }

    public CudaException(string message) : base(message)
    {
        Api = ErrorName = ErrorText = Call = "";
    }

    public CudaException(string message, Exception inner) : base(message, inner)
    {
        Api = ErrorName = ErrorText = Call = "";
    }

    public CudaException() : this("CUDA error")
    {
    }

    public string Api { get; }

    public int Status { get; }

    public string ErrorName { get; }

    public string ErrorText { get; }

    public string Call { get; }
}

/// <summary>A CUDA driver API status other than CUDA_SUCCESS.</summary>
public sealed class CuDriverException(int status, string errorName, string errorText, string call)
    : CudaException("CUDA driver", status, errorName, errorText, call);

/// <summary>A cuBLAS status other than CUBLAS_STATUS_SUCCESS.</summary>
public sealed class CuBlasException(int status, string errorName, string errorText, string call)
    : CudaException("cuBLAS", status, errorName, errorText, call);

/// <summary>An NVRTC status other than NVRTC_SUCCESS.</summary>
public sealed class NvrtcException(int status, string errorName, string errorText, string call)
    : CudaException("NVRTC", status, errorName, errorText, call);

/// <summary>A kernel source that NVRTC rejected; <see cref="Log"/> is NVRTC's log (file:line: error ...).</summary>
public sealed class KernelCompileException(string file, string arch, string log)
    : CudaException($"NVRTC could not compile {file} for {arch}:{Environment.NewLine}{log}")
{
    public string File { get; } = file;

    public string Arch { get; } = arch;

    public string Log { get; } = log;
}

/// <summary>None of the candidate files of a native library could be loaded.</summary>
public sealed class CudaLibraryNotFoundException(Interop.CudaLibrary library, IReadOnlyList<string> tried)
    : CudaException($"could not load the {library} library; tried: {string.Join(", ", tried)} " +
                    $"(set {Interop.NativeLibraryResolver.PathVariable} to the folder that holds it)")
{
    public Interop.CudaLibrary Library { get; } = library;

    public IReadOnlyList<string> Tried { get; } = tried;
}
