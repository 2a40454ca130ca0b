using Engine.Memory;
using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;

namespace Engine.Models.Gan;

/// <summary>
/// DoCo's PatchGAN discriminator (doco-spec §3): Conv 4/2/1 → LeakyReLU(0.2), then three
/// Conv 4/2/1 → BatchNorm2d → LeakyReLU(0.2) blocks doubling the width, then Conv 4/1/1 → one logit per patch.
/// A 64×64 input gives 3×3 patch logits. Always run in train mode (batch statistics), real and fake in
/// separate calls, as the official code does.
/// </summary>
public sealed class PatchDiscriminator
{
    public const float Slope = 0.2f;

    private readonly Conv2d[] _convs;
    private readonly BatchNorm2d?[] _norms;

    // Saved by Forward: each layer's input, conv output, normalized output, statistics.
    private readonly Tensor[] _in, _conv, _norm, _mean, _rstd;

    public ParameterStore Parameters { get; }

    public int InChannels { get; }

    /// <param name="batchNorm">
    /// false drops the BatchNorm layers (conv → LeakyReLU throughout). With BatchNorm in train mode and real and fake in
    /// separate calls, whatever all samples of one call share, such as the concept itself, is normalized away after the
    /// first layer; without it D sees each sample on its own (docs/doco-experiments.md measures both).
    /// </param>
    public PatchDiscriminator(int inChannels, ITensorAllocator allocator, int width = 64, int layers = 3, bool batchNorm = true)
    {
        InChannels = inChannels;
        Parameters = new ParameterStore(new ParameterLayout(Declare(inChannels, width, layers, batchNorm), _ => true), allocator);
        int n = layers + 2;
        _convs = new Conv2d[n];
        _norms = new BatchNorm2d?[n];
        for (int i = 0; i < n; i++)
        {
            _convs[i] = new Conv2d(Parameters, $"conv{i}", stride: i == n - 1 ? 1 : 2, padding: 1);
            _norms[i] = batchNorm && i > 0 && i < n - 1 ? new BatchNorm2d(Parameters, $"bn{i}", allocator) : null;
        }
        _in = new Tensor[n];
        _conv = new Tensor[n];
        _norm = new Tensor[n];
        _mean = new Tensor[n];
        _rstd = new Tensor[n];
    }

    public static List<(string, Shape)> Declare(int inChannels, int width, int layers, bool batchNorm = true)
    {
        var d = new List<(string, Shape)>();
        int cin = inChannels, cout = width;
        for (int i = 0; i < layers + 1; i++)
        {
            Conv2d.Declare(d, $"conv{i}", cin, cout, 4);
            if (i > 0 && batchNorm) BatchNorm2d.Declare(d, $"bn{i}", cout);
            cin = cout;
            cout = Math.Min(cout * 2, width * 8);
        }
        Conv2d.Declare(d, $"conv{layers + 1}", cin, 1, 4);
        return d;
    }

    /// <summary>The BatchNorm layers, for checkpoints (their running statistics are buffers).</summary>
    public IEnumerable<(string Name, BatchNorm2d Norm)> Norms =>
        _norms.Select((b, i) => (Name: $"bn{i}", Norm: b)).Where(t => t.Norm is not null).Select(t => (t.Name, t.Norm!));

    /// <summary>x [N, C, H, W] → logits [N, 1, h, w].</summary>
    public Tensor Forward(Workspace w, Tensor x)
    {
        var ops = w.Ops;
        var h = x;
        for (int i = 0; i < _convs.Length; i++)
        {
            _in[i] = h;
            _conv[i] = w.Act(_convs[i].OutputShape(h));
            _convs[i].Forward(ops, _conv[i], h);
            if (i == _convs.Length - 1) return _conv[i];
            var pre = _conv[i];
            if (_norms[i] is { } bn)
            {
                _norm[i] = w.Act(pre.Shape);
                _mean[i] = w.Act(new Shape(pre.Dim(1)));
                _rstd[i] = w.Act(new Shape(pre.Dim(1)));
                bn.Forward(ops, _norm[i], _mean[i], _rstd[i], pre, training: true);
                pre = _norm[i];
            }
            else
            {
                _norm[i] = pre;
            }
            h = w.Act(pre.Shape);
            ops.LeakyReluForward(h, pre, Slope);
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Accumulates the parameter gradients; returns dx (None when <paramref name="needInputGradient"/> is false).</summary>
    public Tensor Backward(Workspace w, Tensor dlogits, bool needInputGradient)
    {
        var ops = w.Ops;
        var dx = needInputGradient ? w.Grad(_in[0].Shape) : Tensor.None;
        var mark = w.Gradients.Mark();
        var dy = dlogits;
        for (int i = _convs.Length - 1; i >= 0; i--)
        {
            if (i < _convs.Length - 1)
            {
                // dy is d(activation output) here: back through LeakyReLU and the norm to d(conv output).
                var dpre = w.Grad(_norm[i].Shape);
                ops.LeakyReluBackward(dpre, dy, _norm[i], Slope);
                if (_norms[i] is { } bn)
                {
                    var dconv = w.Grad(_conv[i].Shape);
                    bn.Backward(ops, dconv, dpre, _conv[i], _mean[i], _rstd[i]);
                    dpre = dconv;
                }
                dy = dpre;
            }
            var din = i == 0 ? dx : w.Grad(_in[i].Shape);
            _convs[i].Backward(ops, din, dy, _in[i]);
            dy = din;
        }
        w.Gradients.Release(mark);
        return dx;
    }
}
