using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engine.Cuda;

namespace Engine.Tests.Cuda;

/// <summary>
/// Runs the CUDA kernels on the CPU: g++ compiles each kernels/*.cu (the very text embedded in Engine.Cuda, which
/// NVRTC compiles for the GPU) after kernels/emu/cuda_emu.h into a shared library exporting emu_&lt;kernel&gt;, and
/// <see cref="Launch"/> calls it with cuLaunchKernel's argument array. Device pointers are host pointers here.
/// Libraries are cached in the temp folder by a hash of header + source.
/// </summary>
internal sealed unsafe class KernelEmulator : IKernelRunner
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, nint> Libraries = [];
    private static readonly Dictionary<string, nint> Entries = [];
    private static string? _unavailable;

    public static KernelEmulator Instance { get; } = new();

    /// <summary>Null when g++ is usable, else why not (tests skip with it).</summary>
    public static string? Unavailable
    {
        get
        {
            lock (Gate)
            {
                if (_unavailable is null)
                {
                    try
                    {
                        using var p = Process.Start(new ProcessStartInfo("g++", "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
                        p.WaitForExit();
                        _unavailable = p.ExitCode == 0 ? "" : "g++ --version failed";
                    }
                    catch (System.ComponentModel.Win32Exception e)
                    {
                        _unavailable = "g++ not found: " + e.Message;
                    }
                }
                return _unavailable.Length == 0 ? null : _unavailable;
            }
        }
    }

    public void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, void** args)
    {
        var entry = (delegate* unmanaged<uint*, uint*, uint, void**, int>)Entry(kernel);
        uint* g = stackalloc uint[] { grid.X, grid.Y, grid.Z };
        uint* b = stackalloc uint[] { block.X, block.Y, block.Z };
        if (entry(g, b, sharedBytes, args) != 0)
            throw new InvalidOperationException($"emulated launch of {kernel} failed: {LastError(kernel)}");
    }

    private static string LastError(string kernel)
    {
        var f = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(Library(SourceOf(kernel)), "emu_last_error");
        return Marshal.PtrToStringUTF8((nint)f()) ?? "";
    }

    private static readonly List<KernelSource> Extra = [];

    /// <summary>Makes a source that is not embedded in Engine.Cuda (a test kernel) launchable by entry name.</summary>
    public static void Register(KernelSource source)
    {
        lock (Gate)
            if (!Extra.Any(s => s.File == source.File)) Extra.Add(source);
    }

    private static KernelSource SourceOf(string kernel)
    {
        lock (Gate)
            return Extra.FirstOrDefault(s => s.Entries.Contains(kernel)) ?? KernelSources.ForEntry(kernel);
    }

    private static nint Entry(string kernel)
    {
        lock (Gate)
        {
            if (Entries.TryGetValue(kernel, out nint e)) return e;
            e = NativeLibrary.GetExport(Library(SourceOf(kernel)), "emu_" + kernel);
            Entries[kernel] = e;
            return e;
        }
    }

    private static nint Library(KernelSource source)
    {
        lock (Gate)
        {
            if (Libraries.TryGetValue(source.File, out nint lib)) return lib;
            lib = NativeLibrary.Load(Build(source));
            Libraries[source.File] = lib;
            return lib;
        }
    }

    private static readonly string[] Flags = ["-std=c++20", "-O1", "-ffp-contract=off", "-fPIC", "-shared", "-pthread",
                                              "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"];

    /// <summary>Compiles one kernel file into a shared library (or finds it in the cache) and returns its path.</summary>
    public static string Build(KernelSource source)
    {
        string headerDir = Path.Combine(AppContext.BaseDirectory, "kernels", "emu");
        string header = File.ReadAllText(Path.Combine(headerDir, "cuda_emu.h"));
        var wrapper = new StringBuilder();
        wrapper.Append("#include \"cuda_emu.h\"\n");
        wrapper.Append("#line 1 \"").Append(source.File).Append("\"\n");
        wrapper.Append(source.Text).Append('\n');
        foreach (var entry in source.Entries) wrapper.Append("EMU_EXPORT(").Append(entry).Append(")\n");
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header + "\0" + wrapper + "\0" + string.Join(' ', Flags))))[..16];
        string dir = Path.Combine(Path.GetTempPath(), "doco-emu");
        Directory.CreateDirectory(dir);
        string name = Path.GetFileNameWithoutExtension(source.File);
        string so = Path.Combine(dir, $"{name}-{hash}.so");
        if (File.Exists(so)) return so;
        string cpp = Path.Combine(dir, $"{name}-{hash}.{Environment.ProcessId}.cpp");
        File.WriteAllText(cpp, wrapper.ToString());
        string tmp = so + "." + Environment.ProcessId + ".tmp";
        var psi = new ProcessStartInfo("g++") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var f in Flags) psi.ArgumentList.Add(f);
        psi.ArgumentList.Add("-I" + headerDir);
        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(tmp);
        psi.ArgumentList.Add(cpp);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        File.Delete(cpp);
        if (p.ExitCode != 0) throw new InvalidOperationException($"g++ could not compile {source.File} for the emulator:\n{err}");
        File.Move(tmp, so, overwrite: true);
        return so;
    }
}
