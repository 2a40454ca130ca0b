using Engine.Cpu;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Tensors;

namespace Engine.Tests.Models;

/// <summary>Configurations other than the fixture's: pixel-space models and the SD 1.5 parameter count.</summary>
public class UNetConfigTests
{
    /// <summary>The world model's layout at a test's size: a plain first level, cross-attention below it.</summary>
    private static readonly UNetConfig WorldLayout = new()
    {
        InChannels = 3,
        OutChannels = 3,
        SampleSize = 16,
        BlockOutChannels = [16, 32, 32],
        LayersPerBlock = 1,
        DownBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        UpBlockTypes = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        NumAttentionHeads = [2, 4, 4],
        CrossAttentionDim = 24,
        NormNumGroups = 8,
    };

    [Fact]
    public void PixelSpaceUNet_ThreeChannels_RunsForwardAndBackward()
    {
        var config = new UNetConfig
        {
            InChannels = 3,
            OutChannels = 3,
            SampleSize = 16,
            BlockOutChannels = [16, 32, 32],
            LayersPerBlock = 1,
            DownBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
            UpBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
            NumAttentionHeads = [2, 4, 4],
            CrossAttentionDim = 24,
            NormNumGroups = 8,
        };
        using var weights = new NativeArena();
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var ops = new CpuOps();
        var model = new UNet2DConditionModel(config, weights, _ => true);
        RandomInit.Fill(ops, model.Parameters, 1);
        var x = weights.Alloc(new Shape(2, 3, 16, 16));
        var ehs = weights.Alloc(new Shape(2, 5, 24));
        ops.RandomNormal(x, 2, 0);
        ops.RandomNormal(ehs, 3, 0);
        var w = new Workspace(ops, act, grad);
        var eps = model.Forward(w, x, [10f, 500f], ehs);
        Assert.Equal(x.Shape, eps.Shape);
        var dx = weights.Alloc(x.Shape);
        var dEhs = weights.Alloc(ehs.Shape);
        model.Backward(w, eps, dx, dEhs);
        Assert.All(dx.AsSpan().ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.Contains(dEhs.AsSpan().ToArray(), v => v != 0);
        Assert.Contains(model.Parameters.Grad("conv_in.weight").AsSpan().ToArray(), v => v != 0);
        Assert.Throws<ArgumentException>(() => model.Forward(w, weights.Alloc(new Shape(1, 3, 18, 18)), [1f], ehs));
    }

    [Fact]
    public void Backward_StopsBelowTheLowestTrainableModule_WithTheSameGradients()
    {
        // The world's layout: a plain first level, cross-attention below it; only the cross-attention keys and
        // values train. Without dlatents the backward ends at the lowest attention: the first level's resnet and
        // downsampler and the next level's resnet do no work, and the trained gradients are the same bits.
        var config = WorldLayout;
        using var weights = new NativeArena();
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var profile = new Engine.Ops.Profiling.OpProfile();
        var ops = new Engine.Ops.Profiling.ProfilingOps(new CpuOps(), profile);
        var model = new UNet2DConditionModel(config, weights, n => n.Contains("attn2.to_k") || n.Contains("attn2.to_v"));
        RandomInit.Fill(ops, model.Parameters, 1);
        var x = weights.Alloc(new Shape(2, 3, 16, 16));
        var ehs = weights.Alloc(new Shape(2, 5, 24));
        ops.RandomNormal(x, 2, 0);
        ops.RandomNormal(ehs, 3, 0);
        var w = new Workspace(ops, act, grad);
        var eps = model.Forward(w, x, [10f, 500f], ehs);

        (float[] Grads, long ConvBackwards) Backward(Tensor dLatents)
        {
            ops.Fill(model.Parameters.Grads, 0f);
            profile.Clear();
            var mark = w.Gradients.Mark();
            model.Backward(w, eps, dLatents, Tensor.None);
            w.Gradients.Release(mark);
            return (model.Parameters.Grads.AsSpan().ToArray(), profile.Calls(Engine.Ops.Profiling.OpFamily.ConvBackward));
        }
        var stopped = Backward(Tensor.None);
        var whole = Backward(weights.Alloc(x.Shape));
        Assert.Contains(stopped.Grads, v => v != 0);
        Engine.Tests.Testing.Close.Bitwise("trained gradients", stopped.Grads, whole.Grads);
        // Skipped: level 0's resnet (conv1, conv2) and downsampler, level 1's resnet (conv1, conv2, 1×1 shortcut),
        // and conv_in: 7 of the whole backward's convolutions.
        Assert.Equal(whole.ConvBackwards - 7, stopped.ConvBackwards);
    }

    [Fact]
    public void Twin_HalfBatchPasses_MatchOnePassOverBoth()
    {
        // DoCo's trainable pass: one forward per half (the twin keeps the second half's activations) must give the
        // same ε̂ bits as one forward of both halves, and a backward over one half the gradient of a backward over
        // both with the other half's dε̂ zero (equal up to the order of the sums over samples).
        var config = WorldLayout;
        using var weights = new NativeArena();
        using var act = new NativeArena();
        using var grad = new NativeArena();
        var ops = new CpuOps();
        var model = new UNet2DConditionModel(config, weights, n => n.Contains("attn2.to_k") || n.Contains("attn2.to_v"));
        RandomInit.Fill(ops, model.Parameters, 1);
        var twin = model.Twin();
        var x = weights.Alloc(new Shape(4, 3, 16, 16));
        var ehs = weights.Alloc(new Shape(4, 5, 24));
        var dEps = weights.Alloc(x.Shape);
        ops.RandomNormal(x, 2, 0);
        ops.RandomNormal(ehs, 3, 0);
        ops.RandomNormal(dEps, 4, 0);
        float[] t = [10f, 500f, 250f, 999f];
        var w = new Workspace(ops, act, grad);
        long half = x.Numel / 2, halfText = ehs.Numel / 2;

        float[] Grads(UNet2DConditionModel m, Tensor d)
        {
            ops.Fill(m.Parameters.Grads, 0f);
            var mark = w.Gradients.Mark();
            m.Backward(w, d, Tensor.None, Tensor.None);
            w.Gradients.Release(mark);
            return m.Parameters.Grads.AsSpan().ToArray();
        }

        var both = model.Forward(w, x, t, ehs).AsSpan().ToArray();
        var zeroFirst = weights.Alloc(x.Shape);
        ops.Copy(zeroFirst, dEps);
        ops.Fill(zeroFirst.Slice(0, (int)half), 0f);
        var gBoth = Grads(model, zeroFirst);

        w.Activations.Reset();
        var first = model.Forward(w, x.Slice(0, 2, 3, 16, 16), t.AsSpan(0, 2), ehs.Slice(0, 2, 5, 24));
        var second = twin.Forward(w, x.Slice(half, 2, 3, 16, 16), t.AsSpan(2, 2), ehs.Slice(halfText, 2, 5, 24));
        Engine.Tests.Testing.Close.Bitwise("ε̂ of the halves", [.. first.AsSpan(), .. second.AsSpan()], both);
        var gSecond = Grads(twin, dEps.Slice(half, 2, 3, 16, 16));
        Assert.Contains(gSecond, v => v != 0);
        Engine.Tests.Testing.Close.Assert("second half's gradient", gSecond, gBoth, 1e-4, 1e-6);
    }

    [Fact]
    public void Sd15Defaults_DeclareTheKnownParameterCount()
    {
        var declared = UNet2DConditionModel.Declare(new UNetConfig());
        Assert.Equal(686, declared.Count);
        Assert.Equal(859_520_964L, declared.Sum(p => p.Item2.Numel));
    }
}
