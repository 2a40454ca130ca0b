using Engine.Cpu.Sgemm;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    /// <summary>Micro-kernel override for tests (each kernel checked on one machine); Auto in normal use.</summary>
    internal GemmKernel GemmKernel { get; set; }

    /// <summary>Blocked, packed SIMD SGEMM (see <see cref="SgemmDriver"/>); bitwise identical for any thread count.</summary>
    public unsafe void Gemm(Tensor c, Tensor a, Tensor b, in GemmSpec spec)
    {
        spec.Validate();
        Check.AtLeast(a, spec.ExtentA, "A");
        Check.AtLeast(b, spec.ExtentB, "B");
        Check.AtLeast(c, spec.ExtentC, "C");
        Gemm(c.F32, a.F32, b.F32, spec);
    }

    /// <summary>The same on raw pointers, for ops (conv) that multiply views into their own workspaces.</summary>
    internal unsafe void Gemm(float* c, float* a, float* b, in GemmSpec spec) =>
        SgemmDriver.Run(GemmKernel, spec, a, b, c, Workers);

    /// <summary>The same on <paramref name="workers"/>' share of the threads (a conv lane's).</summary>
    internal unsafe void Gemm(float* c, float* a, float* b, in GemmSpec spec, ParallelOptions workers) =>
        SgemmDriver.Run(GemmKernel, spec, a, b, c, workers);
}
