using Engine.Memory;
using Engine.Models;
using Engine.Models.Gan;
using Engine.Tensors;
using Engine.Tests.Testing;
using Engine.Unlearning;

namespace Engine.Tests.Unlearning;

/// <summary>
/// doco-spec §2.2 step 9: when the generator's L_adv backward leaks into D (the official code), D's gradient is that of
/// BCE(D(real),0) + BCE(D(fake),1) + BCE(D(fake),0); per fake logit l the gradient becomes (2σ(l) − 1)/n instead of
/// (σ(l) − 1)/n. Here both sides are computed: the leaky accumulation through the AdversarialLoss functions, and one
/// backward with the fake logits' gradient set to (2σ(l) − 1)/n by hand.
/// </summary>
public sealed class DiscriminatorLeakTests
{
    [Fact]
    public void Leak_MakesTheFakeLogitGradient_TwoSigmaMinusOne()
    {
        using var h = new OpHarness();
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var w = new Workspace(h.Ops, act, grad);
        var d = new PatchDiscriminator(4, h.Arena, width: 8, layers: 2);
        DiscriminatorInit.Fill(h.Ops, d, 9);
        using var io = new NativeArena();
        var real = io.Alloc(new Shape(2, 4, 16, 16));
        var fake = io.Alloc(real.Shape);
        var dx0 = io.Alloc(real.Shape);
        var loss = io.Alloc(new Shape(1));
        h.Ops.RandomNormal(real, 1, 0);
        h.Ops.RandomNormal(fake, 2, 0);
        var grads = d.Parameters.Grads;

        // Official: the generator's backward deposits into D, then D's own losses add up on top.
        h.Ops.Fill(grads, 0f);
        AdversarialLoss.Generator(w, d, fake, dx0, loss);
        AdversarialLoss.Discriminator(w, d, real, fake, loss);
        var leaky = grads.AsSpan().ToArray();

        // Standard GAN: D's losses alone.
        h.Ops.Fill(grads, 0f);
        AdversarialLoss.Discriminator(w, d, real, fake, loss);
        var standard = grads.AsSpan().ToArray();
        Assert.False(leaky.AsSpan().SequenceEqual(standard));

        // By hand: real term as before, fake logits with dlogits = (2σ(l) − 1)/n.
        h.Ops.Fill(grads, 0f);
        OneSide(w, d, real, l => Sigmoid(l));
        OneSide(w, d, fake, l => 2 * Sigmoid(l) - 1);
        Close.Assert("D gradient with the leak", leaky, grads.AsSpan(), rtol: 1e-4, atol: 1e-7);
    }

    private static float Sigmoid(float l) => 1f / (1f + MathF.Exp(-l));

    private static void OneSide(Workspace w, PatchDiscriminator d, Tensor x, Func<float, float> grad)
    {
        w.Reset();
        var logits = d.Forward(w, x);
        var host = logits.AsSpan().ToArray();
        var dl = w.Grad(logits.Shape);
        var span = dl.AsSpan();
        for (int i = 0; i < host.Length; i++) span[i] = grad(host[i]) / host.Length;
        d.Backward(w, dl, needInputGradient: false);
    }
}
