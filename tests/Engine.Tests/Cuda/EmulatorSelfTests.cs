using Engine.Cuda;
using Engine.Cuda.Interop;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// The emulator itself (kernels/emu/cuda_emu.h) on Cuda/emu_selftest.cu: barriers with early-exiting threads,
/// warp shuffles and votes, atomics across blocks, dynamic shared memory, 2-D blocks. The same file goes
/// through NVRTC, so everything tested here is also valid CUDA.
/// </summary>
public unsafe class EmulatorSelfTests
{
    private static readonly KernelSource Source = Load();

    private static KernelSource Load()
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cuda", "emu_selftest.cu"));
        var source = new KernelSource("tests/emu_selftest.cu", text, KernelSources.EntryPoints(text));
        KernelEmulator.Register(source);
        return source;
    }

    private static void Launch(string kernel, Dim3 grid, Dim3 block, uint shared, params nint[] pointers)
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        _ = Source;
        fixed (nint* p = pointers)
        {
            void** args = stackalloc void*[pointers.Length];
            for (int i = 0; i < pointers.Length; i++) args[i] = p + i;
            KernelEmulator.Instance.Launch(kernel, grid, block, shared, args);
        }
    }

    [SkippableFact]
    public void SharedTree_WithEarlyReturn()
    {
        int[] output = Zeros<int>(3);
        int* active = stackalloc int[] { 200 };
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        _ = Source;
        nint o = Ptr(output);
        void** args = stackalloc void*[] { &o, active };
        KernelEmulator.Instance.Launch("selftest_shared_tree", new Dim3(3), new Dim3(256), 0, args);
        Assert.Equal([200 * 201 / 2, 200 * 201 / 2, 200 * 201 / 2], output);
    }

    [SkippableFact]
    public void WarpShufflesAndVotes()
    {
        const int warps = 2 * 64 / 32;
        int[] output = Zeros<int>(6 * warps);
        Launch("selftest_warp", new Dim3(2), new Dim3(64), 0, Ptr(output));
        for (int w = 0; w < warps; w++)
            Assert.Equal([31 * 32 / 2, unchecked((int)0xAAAAAAAAu), 1, 1, 15, 0], output[(6 * w)..(6 * w + 6)]);
    }

    [SkippableFact]
    public void AtomicsAcrossBlocks()
    {
        const int n = 1000;
        uint[] counter = Zeros<uint>(3);
        float[] sum = Zeros<float>(1);
        int count = n;
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        _ = Source;
        nint c = Ptr(counter), s = Ptr(sum);
        void** args = stackalloc void*[] { &c, &s, &count };
        KernelEmulator.Instance.Launch("selftest_atomics", new Dim3(4), new Dim3(256), 0, args);
        Assert.Equal([(uint)n, (uint)(n * (n - 1) / 2), (uint)(n - 1)], counter);
        Assert.Equal(n * 0.5f, sum[0]);
    }

    [SkippableFact]
    public void DynamicSharedTranspose_2DBlock()
    {
        const int w = 8, h = 5, blocks = 3;
        float[] x = Zeros<float>(w * h * blocks), y = Zeros<float>(w * h * blocks);
        for (int i = 0; i < x.Length; i++) x[i] = i;
        Launch("selftest_dynamic_transpose", new Dim3(blocks), new Dim3(w, h), w * h * sizeof(float), Ptr(y), Ptr(x));
        for (int b = 0; b < blocks; b++)
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                    Assert.Equal(x[b * w * h + r * w + c], y[b * w * h + c * h + r]);
    }

    [SkippableFact]
    public void SelfTestSource_CompilesWithNvrtc()
    {
        Skip.IfNot(NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out _), "libnvrtc not found (docs/gpu.md)");
        Assert.NotEmpty(KernelCompiler.Compile(Source, "sm_80", cubin: true));
    }
}
