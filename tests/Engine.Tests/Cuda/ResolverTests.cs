using Engine.Cuda;
using Engine.Cuda.Interop;

namespace Engine.Tests.Cuda;

public class ResolverTests
{
    [Theory]
    [InlineData(CudaLibrary.Driver)]
    [InlineData(CudaLibrary.Cublas)]
    [InlineData(CudaLibrary.Nvrtc)]
    public void BogusFolder_IsTriedFirst_AndEveryPathIsReported(CudaLibrary library)
    {
        string folder = Path.Combine(Path.GetTempPath(), "no-such-cuda-folder");
        bool loaded = NativeLibraryResolver.TryLoadFrom(library, folder, out _, out var tried);
        var expected = NativeLibraryResolver.CandidatePaths(library, folder);
        Assert.Equal(Path.Combine(folder, NativeLibraryResolver.Candidates(library)[0]), tried[0]);
        if (!loaded)
        {
            Assert.Equal(expected, tried);
            string message = new CudaLibraryNotFoundException(library, tried).Message;
            foreach (var path in expected) Assert.Contains(path, message);
            Assert.Contains(NativeLibraryResolver.PathVariable, message);
        }
    }

    [Fact]
    public void CandidateNames_CoverCuda11To13()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"], NativeLibraryResolver.Candidates(CudaLibrary.Cublas));
        Assert.Contains("libnvrtc.so.11.2", NativeLibraryResolver.Candidates(CudaLibrary.Nvrtc));
        Assert.Equal("libcuda.so.1", NativeLibraryResolver.Candidates(CudaLibrary.Driver)[0]);
    }
}
