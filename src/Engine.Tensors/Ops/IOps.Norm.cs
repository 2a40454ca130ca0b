using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>
    /// GroupNorm over x [N, C, *] (any trailing spatial size): statistics per (n, group) over C/groups channels
    /// and all spatial positions; gamma, beta [C]. Saves mean and rstd [N, groups] for the backward.
    /// </summary>
    void GroupNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, int groups, float eps);

    /// <summary>dx overwritten, dgamma/dbeta accumulated; any of the three may be None (skipped).</summary>
    void GroupNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, int groups);

    /// <summary>
    /// LayerNorm over the last dimension of x [rows, C] (or any [..., C]); gamma, beta [C]; mean, rstd hold one
    /// value per row (any shape with that many elements, e.g. [rows] or [B, T]).
    /// </summary>
    void LayerNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps);

    /// <summary>dx overwritten, dgamma/dbeta accumulated; any of the three may be None (skipped).</summary>
    void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma);

    /// <summary>
    /// BatchNorm2d over x [N, C, *] with per-channel statistics over N and the spatial positions.
    /// Training: normalizes with the batch statistics, saves mean and rstd [C] and updates the running
    /// statistics as PyTorch does (running = (1-momentum)·running + momentum·batch, unbiased variance).
    /// Inference: normalizes with the running statistics; mean and rstd receive what was used (or are None).
    /// In training the running statistics may both be None (track_running_stats=False), and fewer than two
    /// values per channel throw, as in PyTorch.
    /// </summary>
    void BatchNormForward(Tensor y, Tensor mean, Tensor rstd, Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta, bool training, float momentum, float eps);

    /// <summary>
    /// Backward of training-mode BatchNorm (batch statistics). dx overwritten, dgamma/dbeta accumulated;
    /// any of the three may be None (skipped).
    /// </summary>
    void BatchNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma);
}
