using Engine.Cpu;
using Engine.Cuda.Ops;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Tests.Cuda;

/// <summary>
/// cublasGemmStridedBatchedEx's contract on the CPU, for running CudaOps without a GPU: column-major operands with
/// explicit leading dimensions and batch strides, cuBLAS's argument checks (CUBLAS_STATUS_INVALID_VALUE for a leading
/// dimension below the rows of the stored matrix), and the product computed by CpuOps's SGEMM. A column-major
/// matrix with leading dimension ld is the row-major transpose of the same bytes, so col-major C = op(A)·op(B) is
/// row-major Cᵀ = op(B)ᵀ·op(A)ᵀ. That identity is checked on its own against a plain column-major loop
/// (<see cref="CudaOpsGemmConvTests"/>), so CudaOps's own row-major → column-major mapping is what the op tests test.
/// FP32 only: TF32 rounding is not emulated.
/// </summary>
internal sealed class EmulatedGemmEngine(CpuOps cpu) : IGemmEngine
{
    public bool Tf32 => false;

    public int Calls { get; private set; }

    public void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
                                   nint a, int lda, long strideA, nint b, int ldb, long strideB,
                                   float beta, nint c, int ldc, long strideC, int batch)
    {
        Calls++;
        if (m < 0 || n < 0 || k < 0 || batch < 1) throw Invalid($"m={m} n={n} k={k} batch={batch}");
        if (lda < Math.Max(1, transA ? k : m)) throw Invalid($"lda={lda} for a {(transA ? k : m)}-row A");
        if (ldb < Math.Max(1, transB ? n : k)) throw Invalid($"ldb={ldb} for a {(transB ? n : k)}-row B");
        if (ldc < Math.Max(1, m)) throw Invalid($"ldc={ldc} for an {m}-row C");
        if (m == 0 || n == 0) return;
        // Row-major view: C'ᵀ[n×m] = op(B)ᵀ · op(A)ᵀ, B's bytes as the left operand, A's as the right.
        var spec = new GemmSpec(n, m, k, transB, transA, ldb, lda, ldc, strideB, strideA, strideC, batch, alpha, beta);
        cpu.Gemm(Host(c, spec.ExtentC), Host(b, Math.Max(1, spec.ExtentA)), Host(a, Math.Max(1, spec.ExtentB)), spec);
    }

    private static Tensor Host(nint p, long floats) => new(p, new Shape(checked((int)floats)), DType.F32, Device.Cpu);

    private static InvalidOperationException Invalid(string what) => new($"CUBLAS_STATUS_INVALID_VALUE: {what}");
}

/// <summary>CudaOps through the kernel emulator, the emulated cuBLAS and host memory posing as the device.</summary>
internal sealed class EmulatedCuda : IDisposable
{
    public EmulatedCuda()
    {
        Memory = new HostDeviceMemory();
        Gemm = new EmulatedGemmEngine(new CpuOps());
        Ops = new CudaOps(KernelEmulator.Instance, Gemm, Memory, "cuda (emulated)");
        Arena = new DeviceArena(Memory, 4L << 20);
    }

    public HostDeviceMemory Memory { get; }

    public EmulatedGemmEngine Gemm { get; }

    public CudaOps Ops { get; }

    public DeviceArena Arena { get; }

    /// <summary>A device tensor holding <paramref name="data"/> (uploaded through CudaOps.CopyFromHost).</summary>
    public Tensor Dev(float[] data, params int[] dims)
    {
        var t = Arena.Alloc(new Shape(dims), zero: false);
        Ops.CopyFromHost(t, data);
        return t;
    }

    public Tensor Dev(double[] data, params int[] dims) => Dev(Array.ConvertAll(data, v => (float)v), dims);

    /// <summary>A device copy of a host tensor (f32 or i32).</summary>
    public unsafe Tensor Dev(Tensor host)
    {
        var t = Arena.Alloc(host.Shape, host.DType, zero: false);
        Memory.Upload(t.Ptr, (void*)host.Ptr, host.Bytes);
        return t;
    }

    public Tensor Zeros(params int[] dims) => Arena.Alloc(new Shape(dims));

    public float[] Get(Tensor t)
    {
        var a = new float[t.Numel];
        Ops.CopyToHost(a, t);
        return a;
    }

    public void Dispose()
    {
        Ops.Dispose();
        Arena.Dispose();
        Memory.Dispose();
    }
}
