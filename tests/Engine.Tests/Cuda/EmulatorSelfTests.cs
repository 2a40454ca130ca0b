using Engine.Cuda;
using Engine.Cuda.Interop;
using static Engine.Tests.Cuda.Pinned;

namespace Engine.Tests.Cuda;

/// <summary>
/// The emulator itself (kernels/emu/cuda_emu.h) on Cuda/emu_selftest.cu: barriers with early-exiting threads
/// and inside loops, warp shuffles and votes in full and partial warps, blocks of up to 1024 threads, 3-D grids
/// of many blocks, atomics across blocks, dynamic shared memory, 2-D blocks, the deadlock report. The same file goes
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

    [SkippableTheory]
    [InlineData(1024)]
    [InlineData(1000)]
    public void BarrierInLoop_ScanUpTo1024Threads(int n)
    {
        const int blocks = 3;
        int[] output = Zeros<int>(blocks * n);
        Launch("selftest_scan", new Dim3(blocks), new Dim3((uint)n), 0, Ptr(output));
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < n; t++)
                Assert.Equal((t + 1) * (t + 2) / 2 + (t + 1) * b, output[b * n + t]);
    }

    [SkippableFact]
    public void EarlyReturnsAtDifferentRounds_LaterBarriersStillMeet()
    {
        const int n = 256, blocks = 5;
        int[] output = Zeros<int>(blocks * n / 4);
        Launch("selftest_staggered_exit", new Dim3(blocks), new Dim3(n), 0, Ptr(output));
        Assert.All(output, v => Assert.Equal(n * (4 + 3 + 2 + 1) / 4, v));
    }

    [SkippableFact]
    public void ShufflesAndVotes_FullAndPartialWarp()
    {
        const int n = 48, blocks = 2;
        int[] output = Zeros<int>(4 * n * blocks);
        Launch("selftest_partial_warp", new Dim3(blocks), new Dim3(n), 0, Ptr(output));
        for (int i = 0; i < n * blocks; i++)
        {
            int t = i % n, lane = t & 31;
            bool full = t < 32;
            int segmentSum = lane < 16 ? 15 * 16 / 2 : (16 + 31) * 16 / 2;
            int down = lane % 16 == 15 ? lane : lane + 1;
            int ballot = full ? unchecked((int)0xAAAAAAAAu) : 0xAAAA;
            int active = full ? -1 : 0xFFFF;
            Assert.Equal([segmentSum, down, ballot, active], output[(4 * i)..(4 * i + 4)]);
        }
    }

    [SkippableFact]
    public void ManyBlocks_3DGridAnd3DBlock()
    {
        const int gx = 40, gy = 7, gz = 3, bx = 8, by = 3, bz = 2, n = bx * by * bz;
        int[] output = Zeros<int>(3 * n * gx * gy * gz);
        Launch("selftest_grid", new Dim3(gx, gy, gz), new Dim3(bx, by, bz), 0, Ptr(output));
        for (int z = 0; z < gz; z++)
            for (int y = 0; y < gy; y++)
                for (int x = 0; x < gx; x++)
                    for (int t = 0; t < n; t++)
                    {
                        int b = (z * gy + y) * gx + x, i = b * n + t;
                        int tx = t % bx, ty = t / bx % by, tz = t / (bx * by);
                        Assert.Equal([x + 1000 * y + 1000000 * z, tx + 1000 * ty + 1000000 * tz, b * n + (t + 1) % n],
                                     output[(3 * i)..(3 * i + 3)]);
                    }
    }

    [SkippableFact]
    public void Deadlock_FailsTheLaunch_AndTheNextLaunchRuns()
    {
        int[] output = Zeros<int>(64);
        var e = Assert.Throws<InvalidOperationException>(() => Launch("selftest_deadlock", new Dim3(2), new Dim3(64), 0, Ptr(output)));
        Assert.Contains("deadlock in block (0, 0, 0): 32 of 64 threads", e.Message);
        int[] scan = Zeros<int>(64);
        Launch("selftest_scan", new Dim3(1), new Dim3(64), 0, Ptr(scan));
        Assert.Equal(64 * 65 / 2, scan[63]);
    }

    [SkippableFact]
    public void ThreadsRunInThreadOrder_BetweenBarriers()
    {
        const int n = 100;
        int[] output = Zeros<int>(2 * n);
        Launch("selftest_order", new Dim3(1), new Dim3(n), 0, Ptr(output));
        Assert.Equal(Enumerable.Range(0, n).Concat(Enumerable.Range(0, n)), output);
    }

    [SkippableFact]
    public void SelfTestSource_CompilesWithNvrtc()
    {
        Skip.IfNot(NativeLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out _, out _), "libnvrtc not found (docs/gpu.md)");
        Assert.NotEmpty(KernelCompiler.Compile(Source, "sm_80", cubin: true));
    }
}
