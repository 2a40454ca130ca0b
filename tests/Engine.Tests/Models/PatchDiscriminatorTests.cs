using Engine.Memory;
using Engine.Models;
using Engine.Models.Gan;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Models;

/// <summary>
/// The discriminator's wiring: every op inside is checked against finite differences on its own, so here a
/// float central difference of the whole network's loss (Σ R ⊙ logits) checks the chain, on a small net.
/// </summary>
public class PatchDiscriminatorTests
{
    [Fact]
    public void Shapes_64x64Input_Gives3x3Patches_And_OfficialParameterCount()
    {
        using var arena = new NativeArena();
        var d = new PatchDiscriminator(4, arena);
        // doco-spec §3: ≈ 2.77 M parameters for 4 input channels.
        Assert.InRange(d.Parameters.Layout.TotalCount, 2_760_000, 2_780_000);
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var w = new Workspace(new Engine.Cpu.CpuOps(), act, grad);
        RandomInit.Fill(w.Ops, d.Parameters, 1);
        var x = act.Alloc(new Shape(2, 4, 64, 64));
        w.Ops.RandomNormal(x, 2, 0);
        Assert.Equal(new Shape(2, 1, 3, 3), d.Forward(w, x).Shape);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Backward_MatchesFiniteDifferencesOfTheNetwork(bool batchNorm)
    {
        using var h = new OpHarness();
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var w = new Workspace(h.Ops, act, grad);
        var d = new PatchDiscriminator(3, h.Arena, width: 4, layers: 2, batchNorm);
        Assert.Equal(batchNorm, d.Norms.Any());
        var p = d.Parameters;
        OpHarness.ToFloat(OpHarness.Randn((int)p.Layout.TotalCount, 5, 0.3)).CopyTo(p.Weights.AsSpan());
        var x = h.Tensor(OpHarness.Randn(2 * 3 * 16 * 16, 6), 2, 3, 16, 16);
        var logits = d.Forward(w, x);
        var r = OpHarness.ToFloat(OpHarness.Randn((int)logits.Numel, 7));

        double Loss()
        {
            act.Reset();
            var y = d.Forward(w, x).AsSpan();
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += (double)y[i] * r[i];
            return s;
        }

        act.Reset();
        var y0 = d.Forward(w, x);
        var dlogits = h.Tensor(r, y0.Shape.ToArray());
        h.Ops.Fill(p.Grads, 0f);
        var dx = d.Backward(w, dlogits, needInputGradient: true).AsSpan().ToArray();
        var grads = p.Grads.AsSpan().ToArray();

        var rng = new System.Random(3);
        var numeric = new List<double>();
        var analytic = new List<float>();
        const float step = 1e-2f;
        // Central differences of the whole network's loss for a few random elements of one buffer.
        void Probe(Span<float> values, float[] gradient, int probes)
        {
            for (int probe = 0; probe < probes; probe++)
            {
                int j = rng.Next(values.Length);
                float orig = values[j];
                values[j] = orig + step;
                double lp = Loss();
                values[j] = orig - step;
                double lm = Loss();
                values[j] = orig;
                numeric.Add((lp - lm) / (2 * step));
                analytic.Add(gradient[j]);
            }
        }
        Probe(p.Weights.AsSpan(), grads, 40);
        Probe(x.AsSpan(), dx, 20);
        double scale = numeric.Max(Math.Abs);
        Close.Assert("discriminator gradients vs float finite differences", analytic.ToArray(), numeric.ToArray(), 2e-2, 2e-3 * scale);
    }
}
