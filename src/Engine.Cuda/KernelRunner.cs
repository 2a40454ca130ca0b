namespace Engine.Cuda;

/// <summary>Grid or block size, as CUDA's dim3.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1);

/// <summary>
/// Runs one kernel launch. <c>args</c> holds one pointer per kernel parameter, pointing at the
/// parameter's value, in signature order (cuLaunchKernel's convention). <see cref="CudaContext"/> launches on the
/// GPU; the test suite's emulator runs the same kernels compiled by g++ on the CPU (kernels/emu/cuda_emu.h).
/// The typed launchers in Kernels/ are the only callers.
/// </summary>
public unsafe interface IKernelRunner
{
    void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, void** args);
}

/// <summary>Grid sizes for grid-stride kernels.</summary>
public static class Grid
{
    /// <summary>Threads per block of the element-wise kernels.</summary>
    public const uint Threads = 256;

    /// <summary>Cap on blocks for grid-stride loops: enough to fill any current GPU, small enough to stay in int range.</summary>
    public const uint MaxBlocks = 65536;

    public static Dim3 For(long n, uint threads = Threads)
    {
        long blocks = Math.Clamp((n + threads - 1) / threads, 1, MaxBlocks);
        return new Dim3((uint)blocks);
    }
}
