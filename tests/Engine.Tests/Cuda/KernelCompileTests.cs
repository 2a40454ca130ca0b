using Engine.Cuda;
using Engine.Cuda.Interop;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// Every kernels/*.cu through NVRTC, which needs no GPU: CUBIN for sm_80 and sm_90 and PTX for compute_80.
/// sm_90 needs NVRTC ≥ 11.8; with an older NVRTC the sm_90 case says so and checks sm_80 only.
/// Skipped (with the reason) only when libnvrtc cannot be loaded; docs/gpu.md says how CI installs it.
/// </summary>
public class KernelCompileTests(ITestOutputHelper output)
{
    private static string? NvrtcMissing()
    {
        if (NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out var tried)) return null;
        return "libnvrtc not found (tried " + string.Join(", ", tried) + "); install it as docs/gpu.md says";
    }

    public static TheoryData<string, string> Targets()
    {
        var data = new TheoryData<string, string>();
        foreach (var source in KernelSources.All)
            foreach (var arch in new[] { "sm_80", "sm_90", "compute_80" })
                data.Add(source.File, arch);
        return data;
    }

    [Fact]
    public void EverySourceIsEmbedded_WithEntryPoints()
    {
        string[] expected = ["activation", "adamw", "attention", "bias", "elementwise", "layout", "loss", "norm", "philox", "reduce", "surgery"];
        foreach (var name in expected) Assert.Contains($"kernels/{name}.cu", KernelSources.All.Select(s => s.File));
        Assert.All(KernelSources.All, s => Assert.NotEmpty(s.Entries));
        Assert.Equal("kernels/surgery.cu", KernelSources.ForEntry("surgery_apply").File);
    }

    [SkippableTheory]
    [MemberData(nameof(Targets))]
    public void Compiles(string file, string arch)
    {
        string? missing = NvrtcMissing();
        Skip.If(missing is not null, missing);
        var version = KernelCompiler.NvrtcVersion();
        int number = int.Parse(arch.AsSpan(arch.IndexOf('_') + 1), provider: null);
        if (arch.StartsWith("sm_", StringComparison.Ordinal) && !KernelCompiler.SupportedArchs().Contains(number))
        {
            // Not a failure of the kernels: this NVRTC cannot target the architecture at all.
            output.WriteLine($"NVRTC {version.Major}.{version.Minor} does not support {arch} (supports sm_{string.Join(", sm_", KernelCompiler.SupportedArchs())}); not checked");
            return;
        }
        bool cubin = arch.StartsWith("sm_", StringComparison.Ordinal);
        byte[] image = KernelCompiler.Compile(KernelSources.Get(file), arch, cubin);
        Assert.NotEmpty(image);
        if (cubin)
            Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, image[..4]); // a CUBIN is an ELF image
        else
        {
            string ptx = System.Text.Encoding.ASCII.GetString(image);
            foreach (var entry in KernelSources.Get(file).Entries) Assert.Contains($".entry {entry}(", ptx);
        }
        output.WriteLine($"{file} {arch}: {image.Length} bytes, NVRTC {version.Major}.{version.Minor}");
    }

    [SkippableFact]
    public void CompileError_ReportsFileAndLine()
    {
        string? missing = NvrtcMissing();
        Skip.If(missing is not null, missing);
        var broken = new KernelSource("kernels/broken.cu", "extern \"C\" __global__ void k(float* y)\n{\n    y[0] = undefined_name;\n}\n", ["k"]);
        var e = Assert.Throws<KernelCompileException>(() => KernelCompiler.Compile(broken, "sm_80", cubin: true));
        Assert.Contains("kernels/broken.cu(3)", e.Log);
        Assert.Contains("undefined_name", e.Log);
        Assert.Contains("kernels/broken.cu", e.Message);
    }

    [SkippableFact]
    public void Cubin_IsCachedOnDisk()
    {
        string? missing = NvrtcMissing();
        Skip.If(missing is not null, missing);
        string dir = Path.Combine(Path.GetTempPath(), "doco-kernel-cache-test-" + Environment.ProcessId);
        try
        {
            var compiler = new KernelCompiler(dir);
            var source = KernelSources.Get("elementwise.cu");
            byte[] first = compiler.GetCubin(source, 80);
            var files = Directory.GetFiles(dir);
            Assert.Single(files);
            Assert.Equal(first, compiler.GetImage(source, 80));
            Assert.Contains($"-sm_80-nvrtc{compiler.Version.Major}.{compiler.Version.Minor}.cubin", files[0]);
            Assert.Equal(first, compiler.GetCubin(source, 80));
            // A device newer than this NVRTC knows gets PTX for the newest architecture it supports.
            int newest = KernelCompiler.SupportedArchs().Max();
            byte[] ptx = compiler.GetImage(source, newest + 1);
            Assert.Contains(".entry add_f32(", System.Text.Encoding.ASCII.GetString(ptx));
            Assert.Contains(Directory.GetFiles(dir), f => f.EndsWith($"-compute_{newest}-nvrtc{compiler.Version.Major}.{compiler.Version.Minor}.ptx", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
