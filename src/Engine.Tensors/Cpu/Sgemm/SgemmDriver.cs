using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Ops;

namespace Engine.Cpu.Sgemm;

/// <summary>Which micro-kernel a GEMM runs; Auto picks the widest the CPU accelerates. Tests force each one.</summary>
public enum GemmKernel
{
    Auto,
    Avx512,
    Avx2,
    Scalar,
}

/// <summary>
/// Row-major strided-batched SGEMM in the GotoBLAS/BLIS shape. C is cut into tasks of at most MT rows × NT columns
/// (per batch). Each task owns its C block and runs the whole K loop itself:
/// <code>
/// for pc in K step KC:                       (fixed order: the only thing the bits depend on)
///     pack op(B)[pc.., n0..n0+NT] → panels of NR columns (L2-resident)
///     for ir in task rows step MR:
///         pack op(A)[ir..ir+MR, pc..] → one MR × KC panel (L1-resident); prefetch the next one
///         for each B panel: micro-kernel → C[MR × NR] (+= after the first pc)
/// </code>
/// So every C element is written by one task, with one fixed K order: results are bitwise identical for any
/// thread count. Edge tiles go through a small stack tile (C copied in, kernel, copied out) so that they do the
/// same arithmetic as full tiles.
/// Pack buffers are per thread ([ThreadStatic], pinned managed arrays of fixed size): allocated on a thread's first
/// GEMM and reused after that; the GC frees them with the thread, so CpuOps needs no Dispose.
/// </summary>
internal static unsafe class SgemmDriver
{
    /// <summary>K block: one A panel (MR·KC) stays in L1, one B block (KC·NT) in L2.</summary>
    public const int KC = 256;

    /// <summary>Most columns per task (B block KC × NT = 480 KiB, half of Zen 4/5's 1 MiB L2). A multiple of every NR.</summary>
    public const int NT = 480;

    /// <summary>Most rows per task, in MR panels; large so B packing is spread over many rows.</summary>
    public const int MTPanels = 64;

    [ThreadStatic]
    private static float[]? t_pack;

    public static GemmKernel Resolve(GemmKernel k)
    {
        if (k != GemmKernel.Auto) return k;
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated) return GemmKernel.Avx512;
        if (Avx2.IsSupported && Fma.IsSupported) return GemmKernel.Avx2;
        return GemmKernel.Scalar;
    }

    public static void Run(GemmKernel kernel, in GemmSpec s, float* a, float* b, float* c, ParallelOptions workers)
    {
        if (s.M == 0 || s.N == 0) return;
        if (s.K == 0 || s.Alpha == 0)
        {
            ScaleC(s, c);
            return;
        }
        switch (Resolve(kernel))
        {
            case GemmKernel.Avx512: Run<Avx512Kernel>(s, a, b, c, workers); break;
            case GemmKernel.Avx2: Run<Avx2Kernel>(s, a, b, c, workers); break;
            default: Run<ScalarKernel>(s, a, b, c, workers); break;
        }
    }

    /// <summary>C = beta·C (beta == 0 writes zeros without reading C): the whole product vanishes.</summary>
    private static void ScaleC(in GemmSpec s, float* c)
    {
        for (int bi = 0; bi < s.Batch; bi++)
        {
            for (int i = 0; i < s.M; i++)
            {
                var row = new Span<float>(c + bi * s.StrideC + (long)i * s.Ldc, s.N);
                if (s.Beta == 0) row.Clear();
                else System.Numerics.Tensors.TensorPrimitives.Multiply(row, s.Beta, row);
            }
        }
    }

    /// <summary>
    /// Task grid for one batch: rows per task a multiple of MR, columns a multiple of the vector width. Columns are
    /// cut evenly into pieces of at most NT (the B block that fits L2); rows at MT, and finer only as far as needed
    /// to give every worker at least two tasks (and all workers the same number, where the rows allow): fewer,
    /// larger tasks repack less. The grid may depend on the thread count because it cannot change a bit of the
    /// result: an element's arithmetic is the same in every tile and panel width (edge tiles run the same kernel on
    /// a copy), and K is always cut at KC.
    /// </summary>
    private static (int Mt, int Nt, int MTasks, int NTasks) Grid(int m, int n, int mr, int vw, int batch, int threads)
    {
        int nTasks = (n + NT - 1) / NT;
        int nt = RoundUp((n + nTasks - 1) / nTasks, vw);
        nTasks = (n + nt - 1) / nt;
        int mtMax = MTPanels * mr;
        int mTasks = (m + mtMax - 1) / mtMax;
        int wanted = threads > 1 ? 2 * threads : 1;
        while (NeedsSplit(batch * mTasks * nTasks) && (m + mTasks) / (mTasks + 1) >= 4 * mr) mTasks++;
        int mt = RoundUp((m + mTasks - 1) / mTasks, mr);
        mTasks = (m + mt - 1) / mt;
        return (mt, nt, mTasks, nTasks);

        // Too few tasks to share, or few enough that an uneven count leaves a worker idle at the end.
        bool NeedsSplit(int total) => total < wanted || (total < 4 * wanted && total % threads != 0);
    }

    private static int RoundUp(int v, int to) => (v + to - 1) / to * to;

    private readonly struct Job
    {
        public readonly GemmSpec S;
        public readonly nint A, B, C;
        public readonly int Mt, Nt, MTasks, NTasks;

        public Job(in GemmSpec s, nint a, nint b, nint c, (int Mt, int Nt, int MTasks, int NTasks) g)
        {
            S = s;
            A = a;
            B = b;
            C = c;
            (Mt, Nt, MTasks, NTasks) = g;
        }
    }

    private static void Run<TK>(in GemmSpec s, float* a, float* b, float* c, ParallelOptions workers)
        where TK : struct, IMicroKernel
    {
        var job = new Job(s, (nint)a, (nint)b, (nint)c, Grid(s.M, s.N, TK.MR, TK.VW, s.Batch, Math.Max(1, workers.MaxDegreeOfParallelism)));
        int tasks = s.Batch * job.MTasks * job.NTasks;
        if (tasks == 1 || workers.MaxDegreeOfParallelism == 1)
        {
            for (int t = 0; t < tasks; t++) Task<TK>(job, t);
        }
        else
        {
            Parallel.For(0, tasks, workers, t => Task<TK>(job, t));
        }
    }

    private static void Task<TK>(in Job job, int t)
        where TK : struct, IMicroKernel
    {
        ref readonly var s = ref job.S;
        int mr = TK.MR, nr = TK.NR, vw = TK.VW;
        int perBatch = job.MTasks * job.NTasks;
        int bi = t / perBatch, mi = t % perBatch / job.NTasks, ni = t % job.NTasks;
        int m0 = mi * job.Mt, m1 = Math.Min(s.M, m0 + job.Mt);
        int n0 = ni * job.Nt, cols = Math.Min(s.N, n0 + job.Nt) - n0;
        float* a = (float*)job.A + bi * s.StrideA;
        float* b = (float*)job.B + bi * s.StrideB;
        float* c = (float*)job.C + bi * s.StrideC;
        nint ldc = s.Ldc;

        float* bPack = PackBuffer(KC * NT + KC * 8);
        float* aPack = bPack + KC * NT;
        float* edge = stackalloc float[8 * 48];

        for (int pc = 0; pc < s.K; pc += KC)
        {
            int kc = Math.Min(KC, s.K - pc);
            float beta = pc == 0 ? s.Beta : 1f;
            Packing.PackB(bPack, nr, vw, b, s.Ldb, s.TransB, pc, kc, n0, cols);
            for (int i0 = m0; i0 < m1; i0 += mr)
            {
                int rows = Math.Min(mr, m1 - i0);
                Packing.PackA(aPack, mr, a, s.Lda, s.TransA, i0, rows, pc, kc);
                // The next A panel is 8 short rows (kc floats each), too short for the hardware prefetcher to
                // ramp up on: ask for them now, while this panel's kernels run.
                if (!s.TransA && i0 + mr < m1) Packing.PrefetchRows(a + (i0 + mr) * (nint)s.Lda + pc, s.Lda, Math.Min(mr, m1 - i0 - mr), kc);
                float* bp = bPack;
                for (int jp = 0, w; jp < cols; jp += w)
                {
                    w = Packing.PanelWidth(nr, vw, cols - jp);
                    int valid = Math.Min(w, cols - jp);
                    float* ct = c + i0 * ldc + n0 + jp;
                    if (rows == mr && valid == w)
                    {
                        TK.Run(kc, aPack, bp, w, ct, ldc, s.Alpha, beta);
                    }
                    else
                    {
                        // Edge tile: the same kernel on a stack copy, so edge elements see the same arithmetic.
                        if (beta != 0)
                        {
                            for (int i = 0; i < rows; i++)
                                new ReadOnlySpan<float>(ct + i * ldc, valid).CopyTo(new Span<float>(edge + i * w, valid));
                        }
                        TK.Run(kc, aPack, bp, w, edge, w, s.Alpha, beta);
                        for (int i = 0; i < rows; i++)
                            new ReadOnlySpan<float>(edge + i * w, valid).CopyTo(new Span<float>(ct + i * ldc, valid));
                    }
                    bp += kc * w;
                }
            }
        }
    }

    /// <summary>This thread's pack buffer (64-byte aligned), allocated once per thread on the pinned object heap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* PackBuffer(int floats)
    {
        var buf = t_pack;
        if (buf is null || buf.Length < floats + 16)
        {
            buf = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            t_pack = buf;
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
        return (float*)((p + 63) & ~(nint)63);
    }
}
