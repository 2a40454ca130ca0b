using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void Transpose(Tensor y, Tensor x, int batch, int rows, int cols)
    {
        long n = checked((long)batch * rows * cols);
        Check.Numel(x, n, "x");
        Check.Numel(y, n, "y");
        LayoutKernels.Transpose(_k, F(y, nameof(y)), F(x, nameof(x)), batch, rows, cols);
    }

    public unsafe void CopyFromHost(Tensor dst, ReadOnlySpan<float> src)
    {
        Check.Numel(dst, src.Length, "dst");
        fixed (float* p = src) _memory.Upload(F(dst, nameof(dst)), p, (long)src.Length * sizeof(float));
    }

    public unsafe void CopyToHost(Span<float> dst, Tensor src)
    {
        Check.Numel(src, dst.Length, "src");
        fixed (float* p = dst) _memory.Download(p, F(src, nameof(src)), (long)dst.Length * sizeof(float));
    }
}
