using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace Engine.Benchmarks;

/// <summary>
/// OpenBLAS's cblas_sgemm, the yardstick for our SGEMM; benchmarks only (the engine has no native dependency).
/// Debian: <c>apt-get install -y libopenblas0-pthread</c>. Set OPENBLAS_LIB to use another build.
/// </summary>
internal static unsafe partial class OpenBlas
{
    private const string Lib = "openblas";

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private static readonly string[] Probe =
    [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "libopenblas.so.0",
        "libopenblas.so",
    ];

    static OpenBlas() => NativeLibrary.SetDllImportResolver(typeof(OpenBlas).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return 0;
        var tried = new List<string>();
        string? env = Environment.GetEnvironmentVariable("OPENBLAS_LIB");
        foreach (var candidate in env is null ? Probe : [env, .. Probe])
        {
            if (NativeLibrary.TryLoad(candidate, out nint h)) return h;
            tried.Add(candidate);
        }
        throw new DllNotFoundException($"OpenBLAS not found (apt-get install -y libopenblas0-pthread); tried {string.Join(", ", tried)}");
    }

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(int order, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_set_num_threads")]
    public static partial void SetNumThreads(int threads);

    [LibraryImport(Lib, EntryPoint = "openblas_get_config")]
    public static partial byte* GetConfig();

    public static string Config => Marshal.PtrToStringUTF8((nint)GetConfig()) ?? "?";

    /// <summary>
    /// After each call OpenBLAS's worker threads spin for 2^OPENBLAS_THREAD_TIMEOUT cycles (2^28 by default, about
    /// 0.1 s) before they sleep. Timed back to back with ours on a 2-core machine, that spinning worker holds a core
    /// during our next call, which then runs at one thread's speed (docs/benchmarks.md, "Why 2 threads varied").
    /// This sets the variable in the native environment, where OpenBLAS reads it when it loads, unless the user set
    /// it; so it must run before the first call into the library. Returns the value in force.
    /// </summary>
    public static string UseThreadTimeout(string value)
    {
        const string name = "OPENBLAS_THREAD_TIMEOUT";
        if (Environment.GetEnvironmentVariable(name) is { } given) return given;
        if (SetEnv(name, value, 0) != 0) throw new InvalidOperationException($"setenv {name} failed");
        return value;
    }

    // .NET's Environment.SetEnvironmentVariable changes only the managed copy; a native library reads libc's.
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
