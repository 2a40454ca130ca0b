using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engine.Cuda.Interop;

namespace Engine.Cuda;

/// <summary>
/// Compiles kernels/*.cu with NVRTC: CUBIN for a real architecture (sm_80, sm_90, ...) or PTX for a virtual one
/// (compute_80). CUBINs are cached on disk under <see cref="CacheDirectory"/>, keyed by source hash, architecture
/// and NVRTC version, so a run compiles each file once per machine. A compile error throws
/// <see cref="KernelCompileException"/> with NVRTC's log, whose lines name kernels/&lt;file&gt;.cu(line).
/// </summary>
public sealed unsafe class KernelCompiler
{
    /// <summary>Environment variable overriding the cache folder.</summary>
    public const string CacheVariable = "DOCO_KERNEL_CACHE";

    public KernelCompiler(string? cacheDirectory = null)
    {
        NativeLibraryResolver.Load(CudaLibrary.Nvrtc);
        CacheDirectory = cacheDirectory ?? DefaultCacheDirectory();
        Version = NvrtcVersion();
    }

    public string CacheDirectory { get; }

    public (int Major, int Minor) Version { get; }

    public static string DefaultCacheDirectory()
    {
        string? over = Environment.GetEnvironmentVariable(CacheVariable);
        if (!string.IsNullOrEmpty(over)) return over;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "doco", "kernels");
    }

    public static (int Major, int Minor) NvrtcVersion()
    {
        NativeLibraryResolver.Load(CudaLibrary.Nvrtc);
        int major, minor;
        Nvrtc.Check(Nvrtc.nvrtcVersion(&major, &minor), "nvrtcVersion");
        return (major, minor);
    }

    /// <summary>The real architectures this NVRTC can generate code for, e.g. 35..90 (nvrtcGetSupportedArchs, NVRTC ≥ 11.2).</summary>
    public static int[] SupportedArchs()
    {
        NativeLibraryResolver.Load(CudaLibrary.Nvrtc);
        int count;
        Nvrtc.Check(Nvrtc.nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
        var archs = new int[count];
        fixed (int* p = archs) Nvrtc.Check(Nvrtc.nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        return archs;
    }

    /// <summary>
    /// The module image for a device of compute capability <paramref name="sm"/> (e.g. 90), from the disk cache
    /// when present: CUBIN for sm_XX when this NVRTC can target it, else PTX for the newest virtual architecture
    /// it knows below the device's (the driver JIT-compiles PTX for newer GPUs).
    /// </summary>
    public byte[] GetImage(KernelSource source, int sm)
    {
        int[] supported = SupportedArchs();
        if (supported.Contains(sm)) return Cached(source, $"sm_{sm}", cubin: true);
        int[] older = [.. supported.Where(a => a < sm)];
        if (older.Length == 0)
            throw new CudaException($"NVRTC {Version.Major}.{Version.Minor} cannot generate code for sm_{sm} (it supports sm_{string.Join(", sm_", supported)})");
        return Cached(source, $"compute_{older.Max()}", cubin: false);
    }

    /// <summary>CUBIN for sm_<paramref name="sm"/>, from the disk cache when present.</summary>
    public byte[] GetCubin(KernelSource source, int sm) => Cached(source, $"sm_{sm}", cubin: true);

    private byte[] Cached(KernelSource source, string arch, bool cubin)
    {
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source.Text + "\n" + string.Join(' ', Options(arch))))).ToLowerInvariant()[..16];
        string name = Path.GetFileNameWithoutExtension(source.File);
        string path = Path.Combine(CacheDirectory, $"{name}-{hash}-{arch}-nvrtc{Version.Major}.{Version.Minor}.{(cubin ? "cubin" : "ptx")}");
        if (File.Exists(path)) return File.ReadAllBytes(path);
        byte[] image = Compile(source, arch, cubin);
        try
        {
            Directory.CreateDirectory(CacheDirectory);
            string tmp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(tmp, image);
            File.Move(tmp, path, overwrite: true); // atomic: a concurrent reader sees the old file or the whole new one
        }
        catch (IOException)
        {
            // A read-only or full cache costs a recompile next time, nothing more.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return image;
    }

    public static string[] Options(string arch) => [$"--gpu-architecture={arch}", "--std=c++17", "-lineinfo"];

    /// <summary>
    /// Compiles one source. <paramref name="arch"/> "sm_XX" with cubin → CUBIN bytes; "compute_XX" → PTX text
    /// (bytes, NUL-terminated as cuModuleLoadData wants it).
    /// </summary>
    public static byte[] Compile(KernelSource source, string arch, bool cubin)
    {
        NativeLibraryResolver.Load(CudaLibrary.Nvrtc);
        nint program;
        fixed (byte* text = Utf8(source.Text))
        fixed (byte* name = Utf8(source.File))
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(&program, text, name, 0, null, null), $"nvrtcCreateProgram({source.File})");
        try
        {
            var options = Options(arch).Select(Utf8).ToArray();
            var handles = options.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
            int status;
            try
            {
                byte** opts = stackalloc byte*[options.Length];
                for (int i = 0; i < options.Length; i++) opts[i] = (byte*)handles[i].AddrOfPinnedObject();
                status = Nvrtc.nvrtcCompileProgram(program, options.Length, opts);
            }
            finally
            {
                foreach (var h in handles) h.Free();
            }
            if (status == Nvrtc.CompilationError) throw new KernelCompileException(source.File, arch, Log(program));
            Nvrtc.Check(status, $"nvrtcCompileProgram({source.File}, {arch})");

            nuint size;
            if (cubin)
            {
                Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(program, &size), $"nvrtcGetCUBINSize({source.File})");
                var bytes = new byte[(int)size];
                fixed (byte* p = bytes) Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(program, p), $"nvrtcGetCUBIN({source.File})");
                return bytes;
            }
            Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(program, &size), $"nvrtcGetPTXSize({source.File})");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) Nvrtc.Check(Nvrtc.nvrtcGetPTX(program, p), $"nvrtcGetPTX({source.File})");
            return ptx;
        }
        finally
        {
            _ = Nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    private static string Log(nint program)
    {
        nuint size;
        if (Nvrtc.nvrtcGetProgramLogSize(program, &size) != Nvrtc.Success || size <= 1) return "(empty log)";
        var log = new byte[(int)size];
        fixed (byte* p = log) _ = Nvrtc.nvrtcGetProgramLog(program, p);
        return Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
    }

    private static byte[] Utf8(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
