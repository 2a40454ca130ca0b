using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    private double[] _surgerySums = [];

    public void GradientSurgery(Tensor gradU, Tensor stats, Tensor gradR, SegmentTable segments, in SurgerySpec spec)
    {
        // Per-segment sums, kept between steps: the parameter layout does not change during a run.
        if (_surgerySums.Length < 3 * segments.Count) _surgerySums = new double[3 * segments.Count];
        Cpu.GradientSurgery.Apply(gradU, stats, gradR, segments, spec, Workers, _surgerySums);
    }
}
