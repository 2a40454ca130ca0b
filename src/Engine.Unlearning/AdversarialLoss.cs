using Engine.Models;
using Engine.Models.Gan;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Unlearning;

/// <summary>
/// DoCo's GAN losses on x0 latents (doco-spec §2.2 steps 8a and 9, §7.8): vanilla BCE-with-logits over all patch
/// logits, anchor ("real") = 0, fake = 1, the generator targets 0. D runs in train mode, one call per batch.
/// </summary>
public static class AdversarialLoss
{
    /// <summary>
    /// L_adv = BCE(D(x̂0_fake), 0). Writes dL_adv/dx̂0 into <paramref name="dx0"/> (overwritten). The backward also
    /// adds ∇_φ L_adv to D's parameter gradients, exactly as the official code does; the trainer zeroes them before
    /// D's own update unless it reproduces the official leak (§7.5).
    /// </summary>
    public static float Generator(Workspace wd, PatchDiscriminator d, Tensor x0Fake, Tensor dx0, Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(wd);
        ArgumentNullException.ThrowIfNull(d);
        var ops = wd.Ops;
        wd.Reset();
        var logits = d.Forward(wd, x0Fake);
        var target = wd.Act(logits.Shape);
        ops.Fill(target, 0f);
        ops.BceWithLogitsForward(loss, logits, target);
        var dlogits = wd.Grad(logits.Shape);
        ops.BceWithLogitsBackward(dlogits, logits, target, 1f);
        var dx = d.Backward(wd, dlogits, needInputGradient: true);
        ops.Copy(dx0, dx);
        return Read(ops, loss);
    }

    /// <summary>
    /// L_D = BCE(D(real), 0) + BCE(D(fake), 1), real and fake in two separate calls (per-call BatchNorm statistics,
    /// §7.12); the gradients are added to D's parameter gradients. Accuracy: the share of real logits below 0 and of
    /// fake logits above 0; <c>SampleAccuracy[i]</c> is that share over sample i's patches on both sides.
    /// </summary>
    public static DiscriminatorReadout Discriminator(Workspace wd, PatchDiscriminator d, Tensor real, Tensor fake, Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(wd);
        ArgumentNullException.ThrowIfNull(d);
        var (lossReal, correctReal) = OneSide(wd, d, real, 0f, loss);
        var (lossFake, correctFake) = OneSide(wd, d, fake, 1f, loss);
        int n = real.Dim(0), patches = correctReal.Length / n;
        var perSample = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = 0;
            for (int p = 0; p < patches; p++) c += (correctReal[i * patches + p] ? 1 : 0) + (correctFake[i * patches + p] ? 1 : 0);
            perSample[i] = (float)c / (2 * patches);
        }
        return new DiscriminatorReadout(lossReal + lossFake, Share(correctReal), Share(correctFake), perSample);
    }

    private static float Share(bool[] correct) => (float)correct.Count(c => c) / correct.Length;

    /// <summary>The side's loss and, per logit, whether D classified it correctly.</summary>
    private static (float Loss, bool[] Correct) OneSide(Workspace wd, PatchDiscriminator d, Tensor x, float label, Tensor loss)
    {
        var ops = wd.Ops;
        wd.Reset();
        var logits = d.Forward(wd, x);
        var target = wd.Act(logits.Shape);
        ops.Fill(target, label);
        ops.BceWithLogitsForward(loss, logits, target);
        var dlogits = wd.Grad(logits.Shape);
        ops.BceWithLogitsBackward(dlogits, logits, target, 1f);
        d.Backward(wd, dlogits, needInputGradient: false);
        var host = new float[logits.Numel];
        ops.CopyToHost(host, logits);
        return (Read(ops, loss), [.. host.Select(l => label == 0f ? l < 0f : l > 0f)]);
    }

    private static float Read(IOps ops, Tensor loss)
    {
        Span<float> v = stackalloc float[1];
        ops.CopyToHost(v, loss);
        return v[0];
    }
}

/// <summary>L_D, accuracy on the real and the fake side, and per sample over both sides' patches.</summary>
public sealed record DiscriminatorReadout(float Loss, float AccReal, float AccFake, float[] SampleAccuracy);

/// <summary>PyTorch's default initialization for the discriminator (doco-spec §3: trained from scratch, default init).</summary>
public static class DiscriminatorInit
{
    /// <summary>
    /// Conv weight and bias ~ U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5, and the bias rule);
    /// BatchNorm weight 1, bias 0, running statistics reset. Philox uniforms from <paramref name="seed"/>.
    /// </summary>
    public static void Fill(IOps ops, PatchDiscriminator d, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(d);
        var store = d.Parameters;
        ulong offset = 0;
        var fanIn = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in store.Layout.Parameters)
            if (p.Name.EndsWith(".weight", StringComparison.Ordinal) && p.Shape.Rank == 4)
                fanIn[p.Name[..^".weight".Length]] = p.Shape[1] * p.Shape[2] * p.Shape[3];
        foreach (var p in store.Layout.Parameters)
        {
            var w = store.Weight(p.Name);
            string module = p.Name[..p.Name.LastIndexOf('.')];
            if (fanIn.TryGetValue(module, out int fan))
            {
                float bound = 1f / MathF.Sqrt(fan);
                ops.RandomUniform(w, seed, offset);
                offset += (ulong)p.Numel;
                // u in (0, 1] → (2u − 1)·bound in (−bound, bound].
                ops.Scale(w, w, 2f * bound);
                var host = new float[p.Numel];
                ops.CopyToHost(host, w);
                for (int i = 0; i < host.Length; i++) host[i] -= bound;
                ops.CopyFromHost(w, host);
            }
            else
            {
                ops.Fill(w, p.Name.EndsWith(".weight", StringComparison.Ordinal) ? 1f : 0f);
            }
        }
        foreach (var (_, norm) in d.Norms) norm.ResetRunningStats();
    }
}
