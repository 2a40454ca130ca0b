using Engine.Cli;
using Engine.Cpu;
using Engine.Cuda;
using Engine.Cuda.Interop;
using Engine.Tests.Cli;

namespace Engine.Tests.Cuda;

public class CliTests
{
    [SkippableTheory]
    [InlineData("sm_80")]
    [InlineData("compute_80")]
    public void KernelsVerb_ListsEveryKernelOk(string arch)
    {
        Skip.IfNot(NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out _), "libnvrtc not found (docs/gpu.md)");
        var (exit, text, error) = Doco.Run("kernels", "--arch", arch);
        Assert.Equal(0, exit);
        Assert.Contains($"target {arch}", text);
        foreach (var entry in KernelSources.All.SelectMany(s => s.Entries))
            Assert.Matches($@"\n\s+{entry}\s+OK\r?\n", text);
        Assert.Empty(error);
    }

    [SkippableFact]
    public void KernelsVerb_BadArch_Exit2()
    {
        Skip.IfNot(NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out _), "libnvrtc not found (docs/gpu.md)");
        var (exit, _, error) = Doco.Run("kernels", "--arch", "sm_1");
        Assert.Equal(2, exit);
        Assert.Contains("cannot target sm_1", error);
        Assert.Equal(2, Doco.Run("kernels", "--arch", "gfx90a").Exit);
    }

    [SkippableFact]
    public void WithoutGpu_AutoFallsBackToCpu_CudaFailsWithOneLine()
    {
        using (var ctx = CudaContext.TryCreate(out _))
            Skip.If(ctx is not null, "a CUDA device is present");
        var error = new StringWriter();
        Assert.IsType<CpuOps>(Backends.Select("auto", error));
        string line = error.ToString().TrimEnd();
        Assert.Single(line.Split('\n'));
        Assert.StartsWith("no usable CUDA GPU: ", line);
        Assert.EndsWith("; using the CPU backend", line);

        var error2 = new StringWriter();
        Assert.Null(Backends.Select("cuda", error2));
        Assert.Equal(line[..^"; using the CPU backend".Length], error2.ToString().TrimEnd());
    }
}
