using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void Sum(Tensor result, Tensor x) => throw new NotImplementedException("Reduce");

    public void SumSquares(Tensor result, Tensor x) => throw new NotImplementedException("Reduce");

    public void Dot(Tensor result, Tensor a, Tensor b) => throw new NotImplementedException("Reduce");

    public void SegmentSumSquares(Tensor result, Tensor x, SegmentTable segments) => throw new NotImplementedException("Reduce");

    public void SegmentDot(Tensor result, Tensor a, Tensor b, SegmentTable segments) => throw new NotImplementedException("Reduce");
}
