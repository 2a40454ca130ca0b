using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// kernels/attention.cu through the emulator against CpuOps.AttentionForward/Backward, for SD's head dims 40, 80
/// and 160 (one, three and five dims per lane, the last two ragged), cross-attention (Tq ≠ Tk, 77 text tokens)
/// and causal self-attention, over several blocks of four rows. Not bitwise: the kernel's online softmax rescales
/// as it goes where the CPU takes the row max first, and its dot products add in a warp tree where the CPU adds
/// in vector lanes; both are float, so results agree to a few float ulp of the largest terms (rtol/atol 1e-5 for
/// o and lse, 1e-5/2e-5 for the gradients, which sum up to 77 such terms).
/// </summary>
public class EmulatedAttentionTests
{
    private static readonly KernelEmulator Emu = KernelEmulator.Instance;

    [SkippableTheory]
    [InlineData(1, 5, 77, 1, 40, false)]   // cross-attention: 5 queries (two blocks) over 77 text tokens (20 key blocks)
    [InlineData(2, 9, 9, 2, 80, true)]     // causal self-attention, batch 2, two heads
    [InlineData(1, 6, 5, 1, 160, false)]   // the widest head dim, a single partial block
    public void Attention_ForwardBackward_MatchCpuOps(int B, int Tq, int Tk, int H, int D, bool causal)
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var h = new OpHarness();
        var spec = new AttentionSpec(B, Tq, Tk, H, D, causal);
        int nq = B * Tq * H * D, nk = B * Tk * H * D, nl = B * H * Tq;
        Tensor q = h.Tensor(OpHarness.Randn(nq, 71), B, Tq, H, D), k = h.Tensor(OpHarness.Randn(nk, 72), B, Tk, H, D);
        Tensor v = h.Tensor(OpHarness.Randn(nk, 73), B, Tk, H, D), dout = h.Tensor(OpHarness.Randn(nq, 74), B, Tq, H, D);
        Tensor o = h.Zeros(B, Tq, H, D), lse = h.Zeros(B, H, Tq), oCpu = h.Zeros(B, Tq, H, D), lseCpu = h.Zeros(B, H, Tq);
        AttentionKernels.Forward(Emu, o.Ptr, lse.Ptr, q.Ptr, k.Ptr, v.Ptr, spec);
        h.Ops.AttentionForward(oCpu, lseCpu, q, k, v, spec);
        Close.Assert("o", o.AsSpan(), oCpu.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Close.Assert("lse", lse.AsSpan(), lseCpu.AsSpan(), rtol: 1e-5, atol: 1e-5);

        // Both backwards start from the CPU's o and lse, so only the backward is compared.
        Tensor dq = h.Zeros(B, Tq, H, D), dk = h.Zeros(B, Tk, H, D), dv = h.Zeros(B, Tk, H, D), delta = h.Zeros(nl);
        Tensor dqCpu = h.Zeros(B, Tq, H, D), dkCpu = h.Zeros(B, Tk, H, D), dvCpu = h.Zeros(B, Tk, H, D);
        AttentionKernels.Backward(Emu, dq.Ptr, dk.Ptr, dv.Ptr, delta.Ptr, dout.Ptr, q.Ptr, k.Ptr, v.Ptr, oCpu.Ptr, lseCpu.Ptr, spec);
        h.Ops.AttentionBackward(dqCpu, dkCpu, dvCpu, dout, q, k, v, oCpu, lseCpu, spec);
        Close.Assert("dq", dq.AsSpan(), dqCpu.AsSpan(), rtol: 1e-5, atol: 2e-5);
        Close.Assert("dk", dk.AsSpan(), dkCpu.AsSpan(), rtol: 1e-5, atol: 2e-5);
        Close.Assert("dv", dv.AsSpan(), dvCpu.AsSpan(), rtol: 1e-5, atol: 2e-5);
    }

    [SkippableFact]
    public void AttentionBackward_PartialGradients_EqualTheFullRun_Bitwise()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var h = new OpHarness();
        var spec = new AttentionSpec(1, 5, 7, 1, 40);
        Tensor q = h.Tensor(OpHarness.Randn(5 * 40, 81), 5, 40), k = h.Tensor(OpHarness.Randn(7 * 40, 82), 7, 40);
        Tensor v = h.Tensor(OpHarness.Randn(7 * 40, 83), 7, 40), dout = h.Tensor(OpHarness.Randn(5 * 40, 84), 5, 40);
        Tensor o = h.Zeros(5, 40), lse = h.Zeros(5), delta = h.Zeros(5);
        AttentionKernels.Forward(Emu, o.Ptr, lse.Ptr, q.Ptr, k.Ptr, v.Ptr, spec);
        Tensor dq = h.Zeros(5, 40), dk = h.Zeros(7, 40), dv = h.Zeros(7, 40);
        AttentionKernels.Backward(Emu, dq.Ptr, dk.Ptr, dv.Ptr, delta.Ptr, dout.Ptr, q.Ptr, k.Ptr, v.Ptr, o.Ptr, lse.Ptr, spec);
        // Null outputs must be skipped (a write through one would crash); the others repeat the full run's bits.
        Tensor dqOnly = h.Zeros(5, 40), dvOnly = h.Zeros(7, 40);
        AttentionKernels.Backward(Emu, dqOnly.Ptr, 0, 0, delta.Ptr, dout.Ptr, q.Ptr, k.Ptr, v.Ptr, o.Ptr, lse.Ptr, spec);
        AttentionKernels.Backward(Emu, 0, 0, dvOnly.Ptr, delta.Ptr, dout.Ptr, q.Ptr, k.Ptr, v.Ptr, o.Ptr, lse.Ptr, spec);
        Close.Bitwise("dq alone", dqOnly.AsSpan(), dq.AsSpan());
        Close.Bitwise("dv alone", dvOnly.AsSpan(), dv.AsSpan());
    }

    [Fact]
    public void HeadDimAboveTheKernelsLimit_Throws()
    {
        var spec = new AttentionSpec(1, 1, 1, 1, AttentionKernels.MaxHeadDim + 1);
        Assert.Throws<ArgumentException>(() => AttentionKernels.Forward(Emu, 0, 0, 0, 0, 0, spec));
    }
}
