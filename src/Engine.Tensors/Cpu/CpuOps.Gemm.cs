using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    // Placeholder: a plain, correct triple loop so other families can build on Gemm today.
    // The blocked SIMD kernel replaces it.
    public unsafe void Gemm(Tensor c, Tensor a, Tensor b, in GemmSpec spec)
    {
        spec.Validate();
        Check.AtLeast(a, spec.ExtentA, "A");
        Check.AtLeast(b, spec.ExtentB, "B");
        Check.AtLeast(c, spec.ExtentC, "C");
        var s = spec;
        float* pa = a.F32, pb = b.F32, pc = c.F32;
        Parallel.For(0, s.Batch * s.M, Workers, row =>
        {
            int bi = row / s.M, i = row % s.M;
            float* A = pa + bi * s.StrideA, B = pb + bi * s.StrideB, C = pc + bi * s.StrideC;
            for (int j = 0; j < s.N; j++)
            {
                float acc = 0;
                for (int p = 0; p < s.K; p++)
                {
                    float av = s.TransA ? A[(long)p * s.Lda + i] : A[(long)i * s.Lda + p];
                    float bv = s.TransB ? B[(long)j * s.Ldb + p] : B[(long)p * s.Ldb + j];
                    acc += av * bv;
                }
                float* cij = C + (long)i * s.Ldc + j;
                *cij = s.Alpha * acc + (s.Beta == 0 ? 0 : s.Beta * *cij);
            }
        });
    }
}
