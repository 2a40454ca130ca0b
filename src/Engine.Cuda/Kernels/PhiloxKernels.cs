namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/philox.cu; key0/key1 are the seed's low and high 32 bits.</summary>
public static unsafe class PhiloxKernels
{
    public static void PhiloxUniform(IKernelRunner runner, nint y, long n, uint key0, uint key1, ulong offset)
    {
        void** args = stackalloc void*[] { &y, &n, &key0, &key1, &offset };
        runner.Launch("philox_uniform", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void PhiloxNormal(IKernelRunner runner, nint y, long n, uint key0, uint key1, ulong offset)
    {
        void** args = stackalloc void*[] { &y, &n, &key0, &key1, &offset };
        runner.Launch("philox_normal", Grid.For(n), new Dim3(Grid.Threads), 0, args);
    }

    public static void Uniform(IKernelRunner runner, nint y, long n, ulong seed, ulong offset) =>
        PhiloxUniform(runner, y, n, (uint)seed, (uint)(seed >> 32), offset);

    public static void Normal(IKernelRunner runner, nint y, long n, ulong seed, ulong offset) =>
        PhiloxNormal(runner, y, n, (uint)seed, (uint)(seed >> 32), offset);
}
