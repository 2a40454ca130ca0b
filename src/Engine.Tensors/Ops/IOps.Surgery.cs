using Engine.Tensors;

namespace Engine.Ops;

/// <summary>Which conflict rule DoCo's gradient surgery applies (doco-spec.md §4, §7.2).</summary>
public enum SurgeryRule
{
    /// <summary>
    /// The official code (HEAD): cos = ⟨g_u/(‖g_u‖+1e-8), g_r/(‖g_r‖+1e-8)⟩; if cos &lt; 0,
    /// g_u ← g_u − λ·cos·g_r/(‖g_r‖+1e-8). Not a projection: the subtracted length does not scale with ‖g_u‖.
    /// </summary>
    Official = 0,

    /// <summary>The exact (PCGrad) projection, [OFF-v0] and the spec's default: if ⟨g_u,g_r⟩ &lt; 0, g_u ← g_u − λ·⟨g_u,g_r⟩/‖g_r‖²·g_r.</summary>
    Projection = 1,
}

/// <summary>
/// Settings of <see cref="IOps.GradientSurgery"/>. <paramref name="MaxNorm"/> is the global-norm clip applied to each
/// gradient separately before the adjustment (torch.nn.utils.clip_grad_norm_, max_grad_norm = 1.0 in the
/// official code); 0 or less disables it ([OFF-v0] clips nothing).
/// </summary>
public readonly record struct SurgerySpec(float Lambda = 1f, float MaxNorm = 1f, SurgeryRule Rule = SurgeryRule.Projection);

public partial interface IOps
{
    /// <summary>
    /// DoCo's concept-preserving gradient, per tensor (one segment per trainable tensor of the flat buffers):
    /// gradU (the unlearning gradient, unclipped) is overwritten with the adjusted, clipped update
    /// a·g_u + b·g_r; gradR (the retain gradient, unclipped) is read only and not added to the update.
    /// Clip scales s = min(1, MaxNorm/(‖g‖+1e-6)) over all segments, for each gradient separately.
    /// stats [segments + 1, 4]: row s = (cos, fired 0/1, ‖s_u·g_u‖, ‖s_r·g_r‖) of segment s; the last row =
    /// (‖g_u‖, ‖g_r‖ before clipping, s_u, s_r). A zero retain gradient gives cos 0 and never fires.
    /// Sums are accumulated in double in a fixed order (independent of the thread count).
    /// </summary>
    void GradientSurgery(Tensor gradU, Tensor stats, Tensor gradR, SegmentTable segments, in SurgerySpec spec);
}
