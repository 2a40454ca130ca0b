using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine.Cuda.Interop;

/// <summary>The three native libraries the CUDA backend binds.</summary>
public enum CudaLibrary
{
    Driver,
    Cublas,
    Nvrtc,
}

/// <summary>
/// Finds libcuda, libcublas and libnvrtc. One candidate list per library, newest CUDA first (13.x, 12.x,
/// 11.x), so one build runs against whatever toolkit or driver is installed. <c>DOCO_CUDA_PATH</c> names a folder
/// tried before the system search path. When nothing loads, the exception lists every path tried.
/// </summary>
public static class NativeLibraryResolver
{
    /// <summary>Environment variable naming a folder that holds the CUDA libraries.</summary>
    public const string PathVariable = "DOCO_CUDA_PATH";

    /// <summary>The names the <c>LibraryImport</c> declarations use; the resolver maps them to real files.</summary>
    internal const string DriverName = "doco-cuda";
    internal const string CublasName = "doco-cublas";
    internal const string NvrtcName = "doco-nvrtc";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<CudaLibrary, nint> Loaded = [];
    private static int _installed;

    public static IReadOnlyList<string> Candidates(CudaLibrary library) => library switch
    {
        CudaLibrary.Driver => OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"],
        CudaLibrary.Cublas => OperatingSystem.IsWindows()
            ? ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"]
            : ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        CudaLibrary.Nvrtc => OperatingSystem.IsWindows()
            ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"]
            : ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        _ => throw new ArgumentOutOfRangeException(nameof(library)),
    };

    /// <summary>Routes this assembly's imports through <see cref="Load"/>. Idempotent.</summary>
    internal static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) => name switch
    {
        DriverName => TryLoad(CudaLibrary.Driver, out nint h, out _) ? h : 0,
        CublasName => TryLoad(CudaLibrary.Cublas, out nint h, out _) ? h : 0,
        NvrtcName => TryLoad(CudaLibrary.Nvrtc, out nint h, out _) ? h : 0,
        _ => 0,
    };

    /// <summary>Loads the library (once) or throws <see cref="CudaLibraryNotFoundException"/> naming every path tried.</summary>
    public static nint Load(CudaLibrary library)
    {
        Install();
        if (TryLoad(library, out nint handle, out var tried)) return handle;
        throw new CudaLibraryNotFoundException(library, tried);
    }

    public static bool TryLoad(CudaLibrary library, out nint handle, out IReadOnlyList<string> tried)
    {
        lock (Gate)
        {
            tried = [];
            if (Loaded.TryGetValue(library, out handle)) return true;
            if (!TryLoadFrom(library, Environment.GetEnvironmentVariable(PathVariable), out handle, out tried)) return false;
            Loaded[library] = handle;
            return true;
        }
    }

    /// <summary>Every path tried, in order: the candidates inside <paramref name="folder"/> (if any), then the bare names.</summary>
    public static IReadOnlyList<string> CandidatePaths(CudaLibrary library, string? folder)
    {
        var paths = new List<string>();
        if (!string.IsNullOrEmpty(folder))
            foreach (var name in Candidates(library)) paths.Add(Path.Combine(folder, name));
        paths.AddRange(Candidates(library)); // bare names: the loader's own search (LD_LIBRARY_PATH, ld.so.cache)
        return paths;
    }

    /// <summary>One uncached attempt; <paramref name="tried"/> lists every path attempted.</summary>
    internal static bool TryLoadFrom(CudaLibrary library, string? folder, out nint handle, out IReadOnlyList<string> tried)
    {
        var attempts = new List<string>();
        tried = attempts;
        foreach (var path in CandidatePaths(library, folder))
        {
            attempts.Add(path);
            if (NativeLibrary.TryLoad(path, out handle)) return true;
        }
        handle = 0;
        return false;
    }
}
