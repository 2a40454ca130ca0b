using System.Runtime.InteropServices;

namespace Engine.Cuda.Interop;

/// <summary>NVRTC, the runtime CUDA C++ compiler: source text in, PTX or CUBIN out. Needs no GPU.</summary>
internal static unsafe partial class Nvrtc
{
    private const string Lib = NativeLibraryResolver.NvrtcName;

    // The import name is a logical one; the resolver maps it to the versioned file before the first call.
    static Nvrtc() => NativeLibraryResolver.Install();

    public const int Success = 0;
    public const int CompilationError = 6;

    [LibraryImport(Lib)] public static partial int nvrtcVersion(int* major, int* minor);
    [LibraryImport(Lib)] public static partial int nvrtcGetNumSupportedArchs(int* count);
    [LibraryImport(Lib)] public static partial int nvrtcGetSupportedArchs(int* archs);

    [LibraryImport(Lib)]
    public static partial int nvrtcCreateProgram(nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    [LibraryImport(Lib)] public static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLogSize(nint program, nuint* size);
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLog(nint program, byte* log);
    [LibraryImport(Lib)] public static partial int nvrtcGetPTXSize(nint program, nuint* size);
    [LibraryImport(Lib)] public static partial int nvrtcGetPTX(nint program, byte* ptx);
    [LibraryImport(Lib)] public static partial int nvrtcGetCUBINSize(nint program, nuint* size);
    [LibraryImport(Lib)] public static partial int nvrtcGetCUBIN(nint program, byte* cubin);
    [LibraryImport(Lib)] public static partial int nvrtcDestroyProgram(nint* program);
    [LibraryImport(Lib)] public static partial byte* nvrtcGetErrorString(int status);

    public static void Check(int status, string call)
    {
        if (status == Success) return;
        string text = Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(status)) ?? "";
        throw new NvrtcException(status, text, Describe(status), call);
    }

    private static string Describe(int status) => status switch
    {
        1 => "out of memory",
        2 => "program creation failed",
        3 => "invalid input",
        4 => "invalid program",
        5 => "invalid option",
        6 => "compilation failed (see the log)",
        7 => "builtin operation failure",
        _ => "see the NVRTC documentation",
    };
}
