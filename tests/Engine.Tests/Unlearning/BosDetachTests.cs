using Engine.Memory;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Nn;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Unlearning;

/// <summary>
/// Custom Diffusion's BOS detach in cross-attention (doco-spec §1, §7.15): the forward is unchanged; no gradient flows
/// through token 0's keys and values, so d(context) of token 0 is zero and the K/V weight gradients lose exactly the
/// token-0 term dK₀ᵀ·ctx₀ (an outer product with ctx₀).
/// </summary>
public sealed class BosDetachTests
{
    private const int N = 2, Tq = 5, Tk = 7, C = 8, Ctx = 6, Heads = 2;

    private static (float[] Y, float[] Dctx, float[] Dk, float[] Dv, float[] Dq) Run(bool detach, float[] x, float[] ctx, float[] dy)
    {
        using var h = new OpHarness();
        var decl = new List<(string, Shape)>();
        Attention.Declare(decl, "attn2", C, Ctx);
        var store = new ParameterStore(new ParameterLayout(decl, _ => true), h.Arena);
        OpHarness.ToFloat(OpHarness.Randn((int)store.Layout.TotalCount, 3, 0.5)).CopyTo(store.Weights.AsSpan());
        store.Grads.AsSpan().Clear();
        var attn = new Attention(store, "attn2", Heads) { DetachFirstToken = detach };
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var w = new Workspace(h.Ops, act, grad);
        var xt = act.Alloc(new Shape(N, Tq, C));
        var ct = act.Alloc(new Shape(N, Tk, Ctx));
        x.CopyTo(xt.AsSpan());
        ctx.CopyTo(ct.AsSpan());
        var y = attn.Forward(w, xt, ct);
        var dyt = act.Alloc(y.Shape);
        dy.CopyTo(dyt.AsSpan());
        var dx = act.Alloc(xt.Shape);
        var dctx = act.Alloc(ct.Shape, zero: true);
        attn.Backward(w, dx, dctx, dyt);
        return (y.AsSpan().ToArray(), dctx.AsSpan().ToArray(), store.Grad("attn2.to_k.weight").AsSpan().ToArray(),
            store.Grad("attn2.to_v.weight").AsSpan().ToArray(), store.Grad("attn2.to_q.weight").AsSpan().ToArray());
    }

    [Fact]
    public void Detach_ZeroesToken0KeyValueGradient_Only()
    {
        var x = OpHarness.ToFloat(OpHarness.Randn(N * Tq * C, 1));
        var ctx = OpHarness.ToFloat(OpHarness.Randn(N * Tk * Ctx, 2));
        var dy = OpHarness.ToFloat(OpHarness.Randn(N * Tq * C, 4));
        var full = Run(false, x, ctx, dy);
        var det = Run(true, x, ctx, dy);

        Close.Bitwise("forward", full.Y, det.Y);
        Close.Bitwise("dW_q (queries are not touched)", full.Dq, det.Dq);
        for (int b = 0; b < N; b++)
        {
            var tok0 = det.Dctx.AsSpan(b * Tk * Ctx, Ctx);
            Assert.True(tok0.ToArray().All(v => v == 0f), $"d(context) of BOS in sample {b} must be 0");
            Assert.Contains(full.Dctx.Skip(b * Tk * Ctx).Take(Ctx), v => v != 0f);
            // Other tokens keep their full gradient.
            Close.Bitwise($"d(context) tokens 1.. of sample {b}", full.Dctx.AsSpan(b * Tk * Ctx + Ctx, (Tk - 1) * Ctx), det.Dctx.AsSpan(b * Tk * Ctx + Ctx, (Tk - 1) * Ctx));
        }
        // dW_full − dW_det = Σ_b dK[b,0]ᵀ·ctx[b,0]: with ctx[b,0] equal across the batch this is rank one with right
        // factor ctx₀; here check the general identity through a context whose BOS rows are the same vector.
        var ctxSame = (float[])ctx.Clone();
        for (int b = 1; b < N; b++) Array.Copy(ctx, 0, ctxSame, b * Tk * Ctx, Ctx);
        var f2 = Run(false, x, ctxSame, dy);
        var d2 = Run(true, x, ctxSame, dy);
        foreach (var (name, a, bb) in new[] { ("K", f2.Dk, d2.Dk), ("V", f2.Dv, d2.Dv) })
        {
            Assert.False(a.AsSpan().SequenceEqual(bb), $"dW_{name} must lose the BOS term");
            for (int row = 0; row < C; row++)
            {
                // diff[row, :] must be parallel to ctx₀: |⟨d, c⟩| = ‖d‖·‖c‖.
                double dot = 0, dd = 0, cc = 0;
                for (int j = 0; j < Ctx; j++)
                {
                    double d = (double)a[row * Ctx + j] - bb[row * Ctx + j], c = ctx[j];
                    dot += d * c;
                    dd += d * d;
                    cc += c * c;
                }
                Assert.True(Math.Abs(Math.Abs(dot) - Math.Sqrt(dd * cc)) <= 1e-3 * Math.Sqrt(dd * cc) + 1e-9, $"dW_{name} row {row}: difference is not along ctx₀");
            }
        }
    }

    [Fact]
    public void Unet_DetachFlag_ReachesEveryCrossAttention()
    {
        using var arena = new NativeArena();
        var unet = Engine.Models.Loading.ModelFiles.LoadUNet(Path.Combine(TinyTrainer.Fixture, "unet"), arena);
        Assert.Equal(6, unet.CrossAttentions.Count());
        Assert.All(unet.CrossAttentions, a => Assert.EndsWith(".attn2", a.Name, StringComparison.Ordinal));
        Assert.False(unet.DetachBosKeyValue);
        unet.DetachBosKeyValue = true;
        Assert.All(unet.CrossAttentions, a => Assert.True(a.DetachFirstToken));
    }
}
