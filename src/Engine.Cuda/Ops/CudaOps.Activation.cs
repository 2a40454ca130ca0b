using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void SiluForward(Tensor y, Tensor x) => ActivationKernels.SiluForward(_k, Out(y, x), F(x, nameof(x)), x.Numel);

    public void SiluBackward(Tensor dx, Tensor dy, Tensor x) => ActivationKernels.SiluBackward(_k, Grad(dx, dy, x), F(dy, nameof(dy)), F(x, nameof(x)), x.Numel);

    public void GeluForward(Tensor y, Tensor x) => ActivationKernels.GeluForward(_k, Out(y, x), F(x, nameof(x)), x.Numel);

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x) => ActivationKernels.GeluBackward(_k, Grad(dx, dy, x), F(dy, nameof(dy)), F(x, nameof(x)), x.Numel);

    public void QuickGeluForward(Tensor y, Tensor x) => ActivationKernels.QuickGeluForward(_k, Out(y, x), F(x, nameof(x)), x.Numel);

    public void QuickGeluBackward(Tensor dx, Tensor dy, Tensor x) => ActivationKernels.QuickGeluBackward(_k, Grad(dx, dy, x), F(dy, nameof(dy)), F(x, nameof(x)), x.Numel);

    public void LeakyReluForward(Tensor y, Tensor x, float slope) => ActivationKernels.LeakyReluForward(_k, Out(y, x), F(x, nameof(x)), slope, x.Numel);

    public void LeakyReluBackward(Tensor dx, Tensor dy, Tensor x, float slope) =>
        ActivationKernels.LeakyReluBackward(_k, Grad(dx, dy, x), F(dy, nameof(dy)), F(x, nameof(x)), slope, x.Numel);

    public void ClampForward(Tensor y, Tensor x, float lo, float hi) => ActivationKernels.ClampForward(_k, Out(y, x), F(x, nameof(x)), lo, hi, x.Numel);

    public void ClampBackward(Tensor dx, Tensor dy, Tensor x, float lo, float hi) =>
        ActivationKernels.ClampBackward(_k, Grad(dx, dy, x), F(dy, nameof(dy)), F(x, nameof(x)), lo, hi, x.Numel);

    public void GegluForward(Tensor y, Tensor x)
    {
        var (rows, c) = GegluGeometry(y, nameof(y), x);
        ActivationKernels.GegluForward(_k, F(y, nameof(y)), F(x, nameof(x)), rows, c);
    }

    public void GegluBackward(Tensor dx, Tensor dy, Tensor x)
    {
        var (rows, c) = GegluGeometry(dy, nameof(dy), x);
        Check.SameShape(dx, x, nameof(dx), nameof(x));
        ActivationKernels.GegluBackward(_k, F(dx, nameof(dx)), F(dy, nameof(dy)), F(x, nameof(x)), rows, c);
    }

    /// <summary>x [..., 2C] and y [..., C] with the same leading dimensions: (rows, C).</summary>
    private static (long Rows, int C) GegluGeometry(Tensor y, string yName, Tensor x)
    {
        F(x, nameof(x));
        F(y, yName);
        if (x.Rank < 1 || x.Dim(-1) % 2 != 0) throw new ArgumentException($"x {x.Shape} must end in an even dimension 2C");
        int c = x.Dim(-1) / 2;
        Span<int> dims = stackalloc int[Shape.MaxRank];
        for (int d = 0; d < x.Rank; d++) dims[d] = x.Dim(d);
        dims[x.Rank - 1] = c;
        var expected = new Shape(dims[..x.Rank]);
        if (y.Shape != expected) throw new ArgumentException($"{yName} has shape {y.Shape}, expected {expected} for x {x.Shape}");
        return (x.Numel / Math.Max(1, 2L * c), c);
    }

    private static nint Out(Tensor y, Tensor x)
    {
        Check.SameShape(y, x, nameof(y), nameof(x));
        return F(y, nameof(y));
    }

    private static nint Grad(Tensor dx, Tensor dy, Tensor x)
    {
        Check.SameShape(dy, x, nameof(dy), nameof(x));
        Check.SameShape(dx, x, nameof(dx), nameof(x));
        return F(dx, nameof(dx));
    }
}
