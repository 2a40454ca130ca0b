using System.Diagnostics;
using Engine.Diffusion.Schedulers;
using Engine.Rng;

namespace Engine.Unlearning;

public sealed partial class ErasureTrainer
{
    /// <summary>
    /// One ESD iteration (doco-spec §5.2): pick a DDIM index k ∈ {0..N−1}; make x_t by k DDIM steps (eta 0, CFG
    /// start_guidance) from N(0, I) with the current model and the concept prompt c (the original ICCV script samples
    /// with the trainable model); train at t = the DDIM timestep x_t sits at; the target from θ* (original weights
    /// swapped in) is ε*(x_t, ∅) − η·[ε*(x_t, c) − ε*(x_t, ∅)]; loss MSE(ε_θ(x_t, c, t), target).
    /// LossAdv holds the ESD loss.
    /// </summary>
    private readonly float[] _esdX, _esdNext, _esdGuided, _esdOut;

    private StepRecord EsdStep()
    {
        var s = Settings;
        int b = s.Batch, b2 = 2 * b, img = _in.ImageSize, ts = _in.TextSize;
        for (int i = 0; i < b; i++)
        {
            _ops.Copy(_ehs.Slice((long)i * ts, ts), _emptyText);
            _ops.Copy(_ehs.Slice((long)(b + i) * ts, ts), _conceptText);
        }
        Span<float> u = stackalloc float[1];
        Philox.FillUniform(u, Stream(Purpose.EsdIndex), (ulong)Step);
        int k = Math.Min((int)(u[0] * s.EsdDdimSteps), s.EsdDdimSteps - 1);
        var x = Head(_xt, b);
        _ops.RandomNormal(x, Stream(Purpose.EsdStart), (ulong)Step * (ulong)(b * img));

        // Partial DDIM sampling under no-grad with classifier-free guidance.
        long t0 = Stopwatch.GetTimestamp();
        var ddim = new DdimScheduler(_schedule);
        var timesteps = ddim.SetTimesteps(s.EsdDdimSteps);
        // The DDIM update runs on the host (a few latents per step): explicit copies, buffers allocated once.
        float[] hostX = _esdX, hostOut = _esdOut, guided = _esdGuided, next = _esdNext;
        _ops.CopyToHost(hostX, x);
        for (int i = 0; i < k; i++)
        {
            _ops.Copy(Head(_z, b), x);
            _ops.Copy(Part(_z, b, b), x);
            Array.Fill(_timesteps, timesteps[i]);
            _w.Reset();
            var e = _unet.Forward(_w, _z, _timesteps.AsSpan(0, b2), _ehs);
            _ops.CopyToHost(hostOut, e);
            int m = b * img;
            for (int j = 0; j < m; j++) guided[j] = hostOut[j] + s.EsdStartGuidance * (hostOut[m + j] - hostOut[j]);
            ddim.Step(next, default, guided, timesteps[i], hostX);
            (hostX, next) = (next, hostX);
            _ops.CopyFromHost(x, hostX);
        }
        Array.Fill(_timesteps, timesteps[k]);

        // θ*'s unconditional and conditional predictions in one batch [x_t; x_t] with [∅; c].
        _ops.Copy(Head(_z, b), x);
        _ops.Copy(Part(_z, b, b), x);
        _w.Reset();
        SwapOriginalIn();
        var frozen = _unet.Forward(_w, _z, _timesteps.AsSpan(0, b2), _ehs);
        var target = Head(_epsFrozen, b);
        _ops.Scale(target, Head(frozen, b), 1f + s.EsdEta);
        _ops.Axpy(target, -s.EsdEta, Part(frozen, b, b));
        SwapOriginalOut();
        double anchorSeconds = Seconds(t0);

        t0 = Stopwatch.GetTimestamp();
        _w.Reset();
        var eps = _unet.Forward(_w, x, _timesteps.AsSpan(0, b), Part(_ehs, b, b));
        double trainableSeconds = Seconds(t0);
        _ops.MseForward(_loss, eps, target);
        float loss = HostLoss();
        bool skipped = !float.IsFinite(loss);
        double backwardSeconds = double.NaN, optimizerSeconds = double.NaN;
        float gradNorm = float.NaN;
        if (!skipped)
        {
            _ops.MseBackward(Head(_dEps, b), eps, target, 1f);
            (backwardSeconds, optimizerSeconds, gradNorm, skipped) = RegressionUpdate(Head(_dEps, b));
        }
        return new StepRecord(Step, false, skipped, loss, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, [], [],
            anchorSeconds, trainableSeconds, backwardSeconds, double.NaN, double.NaN, optimizerSeconds)
        { GradNorm = gradNorm };
    }
}
