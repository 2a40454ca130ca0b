using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Engine.Cuda;
using Engine.Cuda.Interop;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco kernels [--arch sm_80]</c>: compiles every embedded kernels/*.cu with NVRTC (no GPU needed) and lists
/// each kernel with OK or FAIL. sm_XX gives CUBIN, compute_XX gives PTX. Exit 0 all OK, 1 any failure (the NVRTC
/// log is printed), 2 when NVRTC cannot be loaded or cannot target the architecture.
/// </summary>
internal static class KernelsCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "sm_XX (CUBIN) or compute_XX (PTX); default: the GPU's, else sm_80" };
        Options Bind(ParseResult parse) => new(parse.GetValue(arch));
        return new BoundCommand<Options>("kernels", "Compile every CUDA kernel with NVRTC and list each with its status.", Bind, Run) { arch };
    }

    /// <param name="Arch">null: the GPU's architecture, else sm_80</param>
    public sealed record Options(string? Arch);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        string? arch = o.Arch;
        if (!NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out var tried))
        {
            error.WriteLine($"kernels: NVRTC not found (tried {string.Join(", ", tried)}); install libnvrtc (docs/gpu.md) or set {NativeLibraryResolver.PathVariable}");
            return 2;
        }
        var (major, minor) = KernelCompiler.NvrtcVersion();
        int[] supported = KernelCompiler.SupportedArchs();
        arch ??= DefaultArch(output);
        bool cubin = arch.StartsWith("sm_", StringComparison.Ordinal);
        if (!(cubin || arch.StartsWith("compute_", StringComparison.Ordinal)) || !int.TryParse(arch.AsSpan(arch.IndexOf('_') + 1), out int number))
        {
            error.WriteLine($"kernels: --arch must be sm_XX or compute_XX, not '{arch}'");
            return 2;
        }
        if (!supported.Contains(number))
        {
            error.WriteLine($"kernels: NVRTC {major}.{minor} cannot target {arch} (it supports {string.Join(", ", supported.Select(a => $"sm_{a}"))})");
            return 2;
        }
        output.WriteLine($"NVRTC {major}.{minor}, target {arch} ({(cubin ? "CUBIN" : "PTX")})");

        int failures = 0;
        foreach (var source in KernelSources.All)
        {
            var clock = Stopwatch.StartNew();
            byte[]? image = null;
            string? failure = null;
            try
            {
                image = KernelCompiler.Compile(source, arch, cubin);
            }
            catch (CudaException e)
            {
                failure = e is KernelCompileException k ? k.Log : e.Message;
            }
            output.WriteLine($"{source.File,-24} {(failure is null ? "OK  " : "FAIL")} {source.Entries.Count,2} kernels  {image?.Length ?? 0,7} bytes  {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var entry in source.Entries)
            {
                // A kernel is OK when its file compiled and its symbol is in the image.
                bool present = image is not null && Contains(image, cubin ? entry : $".entry {entry}(");
                if (!present) failures++;
                output.WriteLine($"    {entry,-28} {(present ? "OK" : "FAIL")}");
            }
            if (failure is not null)
            {
                failures += source.Entries.Count == 0 ? 1 : 0;
                foreach (var line in failure.Split('\n')) output.WriteLine("    | " + line.TrimEnd());
            }
        }
        output.WriteLine(failures == 0 ? "all kernels compiled" : $"{failures} kernel(s) failed");
        return failures == 0 ? 0 : 1;
    }

    private static string DefaultArch(TextWriter output)
    {
        using var ctx = CudaContext.TryCreate(out string reason);
        if (ctx is null)
        {
            output.WriteLine(reason);
            return "sm_80";
        }
        output.WriteLine($"GPU: {ctx.Name}");
        return $"sm_{ctx.Sm}";
    }

    private static bool Contains(byte[] image, string text)
    {
        byte[] needle = Encoding.ASCII.GetBytes(text);
        return image.AsSpan().IndexOf(needle) >= 0;
    }
}
