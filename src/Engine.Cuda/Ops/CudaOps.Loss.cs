using Engine.Cuda.Kernels;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

public sealed partial class CudaOps
{
    public void MseForward(Tensor loss, Tensor x, Tensor target)
    {
        CheckLoss(loss, x, nameof(x), target);
        LossKernels.MseForward(_k, F(loss, nameof(loss)), LossPartial(x.Numel), F(x, nameof(x)), F(target, nameof(target)), x.Numel);
    }

    public void MseBackward(Tensor dx, Tensor x, Tensor target, float dloss)
    {
        CheckLossGrad(dx, nameof(dx), x, nameof(x), target);
        LossKernels.MseBackward(_k, F(dx, nameof(dx)), F(x, nameof(x)), F(target, nameof(target)), dloss, x.Numel);
    }

    public void BceWithLogitsForward(Tensor loss, Tensor logits, Tensor target)
    {
        CheckLoss(loss, logits, nameof(logits), target);
        LossKernels.BceWithLogitsForward(_k, F(loss, nameof(loss)), LossPartial(logits.Numel), F(logits, nameof(logits)), F(target, nameof(target)), logits.Numel);
    }

    public void BceWithLogitsBackward(Tensor dlogits, Tensor logits, Tensor target, float dloss)
    {
        CheckLossGrad(dlogits, nameof(dlogits), logits, nameof(logits), target);
        LossKernels.BceWithLogitsBackward(_k, F(dlogits, nameof(dlogits)), F(logits, nameof(logits)), F(target, nameof(target)), dloss, logits.Numel);
    }

    private nint LossPartial(long n) => Scratch(Slot.Loss, LossKernels.PartialCount(n) * sizeof(double));

    private static void CheckLoss(Tensor loss, Tensor x, string xName, Tensor target)
    {
        Check.Numel(loss, 1, nameof(loss));
        Check.SameShape(x, target, xName, nameof(target));
    }

    private static void CheckLossGrad(Tensor dx, string dxName, Tensor x, string xName, Tensor target)
    {
        Check.SameShape(x, target, xName, nameof(target));
        Check.SameShape(dx, x, dxName, xName);
    }
}
