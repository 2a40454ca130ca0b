using Engine.Ops;

namespace Engine.Cuda.Kernels;

/// <summary>Typed launchers for kernels/attention.cu (one warp per row, <see cref="RowsPerBlock"/> rows per block).</summary>
public static unsafe class AttentionKernels
{
    /// <summary>Must match ATT_WARPS and ATT_MAX_PER_LANE in attention.cu.</summary>
    public const int RowsPerBlock = 4;
    public const int MaxHeadDim = 32 * 5;

    private static Dim3 Rows(int rows, in AttentionSpec s) => new((uint)((rows + RowsPerBlock - 1) / RowsPerBlock), (uint)(s.B * s.Heads));

    private static readonly Dim3 Block = new(32 * RowsPerBlock);

    private static void CheckSpec(in AttentionSpec s)
    {
        if (s.HeadDim > MaxHeadDim) throw new ArgumentException($"head dim {s.HeadDim} exceeds the kernel's {MaxHeadDim}");
        if ((long)s.B * s.Heads > ushort.MaxValue) throw new ArgumentException($"B·Heads = {(long)s.B * s.Heads} exceeds the grid's y limit {ushort.MaxValue}");
        if (s.Causal && s.Tq != s.Tk) throw new ArgumentException($"causal attention needs Tq == Tk, got {s.Tq} and {s.Tk}");
    }

    /// <summary>o [B, Tq, H, D] and lse [B, H, Tq] from q, k, v.</summary>
    public static void Forward(IKernelRunner runner, nint o, nint lse, nint q, nint k, nint v, in AttentionSpec spec)
    {
        CheckSpec(spec);
        int B = spec.B, Tq = spec.Tq, Tk = spec.Tk, H = spec.Heads, D = spec.HeadDim, causal = spec.Causal ? 1 : 0;
        float scale = spec.EffectiveScale;
        void** args = stackalloc void*[] { &o, &lse, &q, &k, &v, &B, &Tq, &Tk, &H, &D, &causal, &scale };
        runner.Launch("attention_forward", Rows(Tq, spec), Block, 0, args);
    }

    /// <summary>
    /// dq, dk, dv overwritten (any may be 0 = not needed). delta: scratch of B·H·Tq floats (D_i = dO_i·O_i).
    /// </summary>
    public static void Backward(IKernelRunner runner, nint dq, nint dk, nint dv, nint delta, nint dout, nint q, nint k, nint v,
                                nint o, nint lse, in AttentionSpec spec)
    {
        CheckSpec(spec);
        int B = spec.B, Tq = spec.Tq, Tk = spec.Tk, H = spec.Heads, D = spec.HeadDim, causal = spec.Causal ? 1 : 0;
        float scale = spec.EffectiveScale;
        void** deltaArgs = stackalloc void*[] { &delta, &dout, &o, &B, &Tq, &H, &D };
        runner.Launch("attention_backward_delta", Rows(Tq, spec), Block, 0, deltaArgs);
        if (dq != 0)
        {
            void** args = stackalloc void*[] { &dq, &dout, &q, &k, &v, &lse, &delta, &B, &Tq, &Tk, &H, &D, &causal, &scale };
            runner.Launch("attention_backward_dq", Rows(Tq, spec), Block, 0, args);
        }
        if (dk != 0 || dv != 0)
        {
            void** args = stackalloc void*[] { &dk, &dv, &dout, &q, &k, &v, &lse, &delta, &B, &Tq, &Tk, &H, &D, &causal, &scale };
            runner.Launch("attention_backward_dkdv", Rows(Tk, spec), Block, 0, args);
        }
    }
}
