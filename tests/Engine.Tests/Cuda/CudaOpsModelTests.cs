using System.Diagnostics;
using Engine.Cpu;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Unet;
using Engine.Tensors;
using Engine.Tests.Testing;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// A whole model on the emulated CUDA backend: a UNet forward and backward with every parameter trainable,
/// CudaOps-through-the-emulator against CpuOps. The device model is built unchanged on a
/// <see cref="Engine.Cuda.Ops.DeviceArena"/> (its tensors are Device.Cuda, so any host access in the model code would
/// throw) and gets the CPU model's flat weights with one CopyFromHost.
/// Not the tiny-sd fixture: the emulator runs every CUDA thread as an OS thread and every block behind two barriers,
/// and the fixture UNet at 16×16 latents did not finish in 15 minutes on 2 cores. This UNet has the fixture's
/// structure (a plain and a cross-attention level, mid block with attention, skip concatenations, up/down sampling)
/// at 8/16 channels, one layer per block, 8×8 latents and 5 text tokens.
/// </summary>
public class CudaOpsModelTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void TinyUNet_ForwardBackward_MatchesCpuOps()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var hostWeights = new NativeArena();
        using var hostAct = new NativeArena();
        using var hostGrad = new NativeArena();
        using var e = new EmulatedCuda();
        using var devAct = new Engine.Cuda.Ops.DeviceArena(e.Memory, 16L << 20);
        using var devGrad = new Engine.Cuda.Ops.DeviceArena(e.Memory, 16L << 20);
        var cpu = new CpuOps(2);

        var config = TinyUNet.Config();
        var hostModel = new UNet2DConditionModel(config, hostWeights, _ => true);
        RandomInit.Fill(cpu, hostModel.Parameters, 5);
        var devModel = new UNet2DConditionModel(config, e.Arena, _ => true);
        e.Ops.CopyFromHost(devModel.Parameters.Weights, hostModel.Parameters.Weights.AsSpan());

        var c = hostModel.Config;
        int[] xs = [1, c.InChannels, 8, 8], hs = [1, 5, c.CrossAttentionDim];
        double[] x = OpHarness.Randn(1 * c.InChannels * 64, 81), ehs = OpHarness.Randn(5 * c.CrossAttentionDim, 82);
        float[] timesteps = [421f];

        var hw = new Workspace(cpu, hostAct, hostGrad);
        var hx = hostWeights.Alloc(new Shape(xs));
        var hehs = hostWeights.Alloc(new Shape(hs));
        cpu.CopyFromHost(hx, OpHarness.ToFloat(x));
        cpu.CopyFromHost(hehs, OpHarness.ToFloat(ehs));
        var hEps = hostModel.Forward(hw, hx, timesteps, hehs);
        var hdx = hostWeights.Alloc(hx.Shape);
        var hdehs = hostWeights.Alloc(hehs.Shape);
        hostModel.Backward(hw, hEps, hdx, hdehs);

        var clock = Stopwatch.StartNew();
        var dw = new Workspace(e.Ops, devAct, devGrad);
        var dx = e.Dev(x, xs);
        var dehs = e.Dev(ehs, hs);
        var dEps = devModel.Forward(dw, dx, timesteps, dehs);
        var ddx = e.Arena.Alloc(dx.Shape);
        var ddehs = e.Arena.Alloc(dehs.Shape);
        devModel.Backward(dw, dEps, ddx, ddehs);
        output.WriteLine($"emulated CudaOps forward + backward: {clock.Elapsed.TotalSeconds:F1} s, {e.Gemm.Calls} GEMM calls");

        // Errors of float32 sums in different orders, carried through ~40 layers: compare against each tensor's scale.
        Compare("eps", e.Get(dEps), hEps.AsSpan());
        Compare("d latents", e.Get(ddx), hdx.AsSpan());
        Compare("d encoder_hidden_states", e.Get(ddehs), hdehs.AsSpan());
        var layout = hostModel.Parameters.Layout;
        foreach (var p in layout.Parameters)
            Compare("grad " + p.Name, e.Get(devModel.Parameters.Grad(p.Name)), hostModel.Parameters.Grad(p.Name).AsSpan());
    }

    /// <summary>|gpu − cpu| ≤ 1e-4·max|cpu| + 1e-3·|cpu| elementwise (and both all finite).</summary>
    private static void Compare(string what, float[] gpu, ReadOnlySpan<float> cpu)
    {
        double scale = 0;
        foreach (var v in cpu) scale = Math.Max(scale, Math.Abs(v));
        Close.Assert(what, gpu, cpu, rtol: 1e-3, atol: 1e-4 * scale + 1e-12);
    }
}
