using System.Runtime.InteropServices;
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
/// With <paramref name="tf32"/> (CUBLAS_COMPUTE_32F_FAST_TF32), both operands are first rounded to TF32 as tensor
/// cores do (<see cref="RoundToTf32"/>, the same rounding as the stand-in cuBLAS in tests/StandIn), then multiplied
/// and accumulated in float, so tests of TF32 paths meet TF32's errors here rather than on the first GPU.
/// </summary>
internal sealed unsafe class EmulatedGemmEngine(CpuOps cpu, bool tf32 = false) : IGemmEngine
{
    public bool Tf32 => tf32;

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
        long extentB = Math.Max(1, spec.ExtentA), extentA = Math.Max(1, spec.ExtentB);
        if (!tf32)
        {
            cpu.Gemm(Host(c, spec.ExtentC), Host(b, extentB), Host(a, extentA), spec);
            return;
        }
        // Rounded copies of every element either operand's batches can reach (a stride-0 operand is one matrix).
        float* ra = (float*)NativeMemory.Alloc((nuint)extentA, sizeof(float)), rb = (float*)NativeMemory.Alloc((nuint)extentB, sizeof(float));
        try
        {
            for (long i = 0; i < spec.ExtentB; i++) ra[i] = RoundToTf32(((float*)a)[i]); // spec's B is cuBLAS's A
            for (long i = 0; i < spec.ExtentA; i++) rb[i] = RoundToTf32(((float*)b)[i]);
            cpu.Gemm(Host(c, spec.ExtentC), Host((nint)rb, extentB), Host((nint)ra, extentA), spec);
        }
        finally
        {
            NativeMemory.Free(ra);
            NativeMemory.Free(rb);
        }
    }

    /// <summary>
    /// x rounded to TF32: 10 of float's 23 mantissa bits kept, round to nearest with ties to even on the 13 dropped
    /// bits; infinities and NaN unchanged (a finite value next to float.MaxValue may round to infinity, as in hardware).
    /// </summary>
    public static float RoundToTf32(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7f800000u) == 0x7f800000u) return x;
        u += 0xfffu + ((u >> 13) & 1u);
        return BitConverter.UInt32BitsToSingle(u & ~0x1fffu);
    }

    private static Tensor Host(nint p, long floats) => new(p, new Shape(checked((int)floats)), DType.F32, Device.Cpu);

    private static InvalidOperationException Invalid(string what) => new($"CUBLAS_STATUS_INVALID_VALUE: {what}");
}

/// <summary>CudaOps through the kernel emulator, the emulated cuBLAS and host memory posing as the device.</summary>
internal sealed class EmulatedCuda : IDisposable
{
    /// <param name="tf32">emulate cuBLAS with TF32 compute (operands rounded to TF32)</param>
    public EmulatedCuda(bool tf32 = false)
    {
        Memory = new HostDeviceMemory();
        Gemm = new EmulatedGemmEngine(new CpuOps(), tf32);
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
