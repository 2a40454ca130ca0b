using Engine.Cuda;
using Engine.Cuda.Kernels;
using Engine.Ops;
using Engine.Tensors;
using R = Engine.Cli.Selftest.SelftestRig;

namespace Engine.Cli.Selftest;

/// <summary>Self-tests of attention, AdamW, Philox, gradient surgery and the cuBLAS GEMM.</summary>
internal static class SelftestOpsTraining
{
    public static void Add(List<SelftestOp> ops)
    {
        // ---- attention: SD-like cross-attention shape with odd sizes (Tq 77, Tk 13, D 40) and a causal self-attention
        foreach (var spec in new[] { new AttentionSpec(2, 77, 13, 3, 40), new AttentionSpec(1, 29, 29, 2, 64, Causal: true) })
        {
            string tag = spec.Causal ? "_causal" : "";
            int B = spec.B, Tq = spec.Tq, Tk = spec.Tk, Hh = spec.Heads, D = spec.HeadDim;
            ops.Add(new("attention_forward" + tag, ["attention_forward"], 1e-4, 1e-5, r =>
            {
                float[] q = r.Randn(B * Tq * Hh * D), k = r.Randn(B * Tk * Hh * D), v = r.Randn(B * Tk * Hh * D);
                nint o = r.DevZeros<float>(B * Tq * Hh * D), lse = r.DevZeros<float>(B * Hh * Tq);
                AttentionKernels.Forward(r.Gpu, o, lse, r.Dev(q), r.Dev(k), r.Dev(v), spec);
                Tensor oc = r.HostZeros(B, Tq, Hh, D), lc = r.HostZeros(B, Hh, Tq);
                r.Cpu.AttentionForward(oc, lc, r.Host(q, B, Tq, Hh, D), r.Host(k, B, Tk, Hh, D), r.Host(v, B, Tk, Hh, D), spec);
                return (R.Cat(r.Get(o, B * Tq * Hh * D), r.Get(lse, B * Hh * Tq)), R.Cat(R.Get(oc), R.Get(lc)));
            }));
            ops.Add(new("attention_backward" + tag, ["attention_backward_delta", "attention_backward_dq", "attention_backward_dkdv"], 1e-4, 2e-5, r =>
            {
                float[] q = r.Randn(B * Tq * Hh * D), k = r.Randn(B * Tk * Hh * D), v = r.Randn(B * Tk * Hh * D), dout = r.Randn(B * Tq * Hh * D);
                Tensor qc = r.Host(q, B, Tq, Hh, D), kc = r.Host(k, B, Tk, Hh, D), vc = r.Host(v, B, Tk, Hh, D), doc = r.Host(dout, B, Tq, Hh, D);
                Tensor oc = r.HostZeros(B, Tq, Hh, D), lc = r.HostZeros(B, Hh, Tq);
                r.Cpu.AttentionForward(oc, lc, qc, kc, vc, spec);
                nint dq = r.DevZeros<float>(q.Length), dk = r.DevZeros<float>(k.Length), dv = r.DevZeros<float>(v.Length);
                AttentionKernels.Backward(r.Gpu, dq, dk, dv, r.DevZeros<float>(B * Hh * Tq), r.Dev(dout), r.Dev(q), r.Dev(k), r.Dev(v), r.Dev(oc), r.Dev(lc), spec);
                Tensor dqc = r.HostZeros(B, Tq, Hh, D), dkc = r.HostZeros(B, Tk, Hh, D), dvc = r.HostZeros(B, Tk, Hh, D);
                r.Cpu.AttentionBackward(dqc, dkc, dvc, doc, qc, kc, vc, oc, lc, spec);
                return (R.Cat(r.Get(dq, q.Length), r.Get(dk, k.Length), r.Get(dv, v.Length)), R.Cat(R.Get(dqc), R.Get(dkc), R.Get(dvc)));
            }));
        }

        // ---- AdamW / Adam: three steps (bias correction moves); NVRTC may contract, so not bitwise on a GPU
        foreach (bool decoupled in new[] { true, false })
        {
            var spec = new AdamSpec(1e-3f, WeightDecay: 0.01f, Decoupled: decoupled);
            ops.Add(new(decoupled ? "adamw_step" : "adam_step_l2", ["adamw_step"], 1e-5, 1e-7, r =>
            {
                const int n = 10_007;
                float[] p0 = r.Randn(n), g = r.Randn(n);
                nint p = r.Dev(p0), dg = r.Dev(g), m = r.DevZeros<float>(n), v = r.DevZeros<float>(n);
                Tensor pc = r.Host(p0, n), gc = r.Host(g, n), mc = r.HostZeros(n), vc = r.HostZeros(n);
                for (int step = 1; step <= 3; step++)
                {
                    AdamwKernels.AdamwStep(r.Gpu, p, dg, m, v, n, spec, step);
                    r.Cpu.AdamStep(pc, gc, mc, vc, spec, step);
                }
                return (R.Cat(r.Get(p, n), r.Get(m, n), r.Get(v, n)), R.Cat(R.Get(pc), R.Get(mc), R.Get(vc)));
            }));
        }

        // ---- Philox: uniform is integer arithmetic (bitwise); normal goes through logf/sinf/cosf (docs/gpu.md)
        const int np = 10_001;
        ops.Add(new("philox_uniform", ["philox_uniform"], 0, 0, r =>
        {
            nint y = r.DevZeros<float>(np);
            PhiloxKernels.Uniform(r.Gpu, y, np, 42, 5);
            var yc = r.HostZeros(np);
            r.Cpu.RandomUniform(yc, 42, 5);
            return (r.Get(y, np), R.Get(yc));
        }));
        ops.Add(new("philox_normal", ["philox_normal"], 1e-5, 1e-6, r =>
        {
            nint y = r.DevZeros<float>(np);
            PhiloxKernels.Normal(r.Gpu, y, np, 42, 5);
            var yc = r.HostZeros(np);
            r.Cpu.RandomNormal(yc, 42, 5);
            return (r.Get(y, np), R.Get(yc));
        }));

        // ---- DoCo gradient surgery, both rules: g_u and the telemetry
        foreach (var rule in new[] { SurgeryRule.Official, SurgeryRule.Projection })
        {
            ops.Add(new("gradient_surgery_" + rule.ToString().ToLowerInvariant(), ["surgery_chunk_partials", "surgery_coefficients", "surgery_apply"], 1e-5, 1e-6, r =>
            {
                var segments = SegmentTable.FromSizes([100_000, 13, 0, 1, 5000]);
                var table = new ChunkTable(segments);
                var spec = new SurgerySpec(1f, 1f, rule);
                int n = (int)segments.Total, nseg = segments.Count;
                float[] gu = r.Randn(n), gr = r.Randn(n);
                // Flip the sign of some segments' retain gradient so the surgery fires on some tensors and not others.
                for (int s = 0; s < nseg; s += 2)
                    for (long i = segments.Offsets[s]; i < segments.Offsets[s + 1]; i++) gr[i] = -gu[i] + 0.3f * gr[i];
                nint u = r.Dev(gu), stats = r.DevZeros<float>(4 * (nseg + 1));
                SurgeryKernels.Run(r.Gpu, u, r.Dev(gr), stats, spec, table, r.Dev(table.ChunkBegin), r.Dev(table.ChunkEnd), r.Dev(table.SegFirstChunk),
                                   r.Dev(table.ChunkSegment), r.DevZeros<double>(3L * table.Count), r.DevZeros<float>(2L * nseg));
                Tensor uc = r.Host(gu, n), sc = r.HostZeros(nseg + 1, 4);
                r.Cpu.GradientSurgery(uc, sc, r.Host(gr, n), segments, spec);
                return (R.Cat(r.Get(u, n), r.Get(stats, 4 * (nseg + 1))), R.Cat(R.Get(uc), R.Get(sc)));
            }));
        }

        // ---- cuBLAS strided-batched GEMM (row-major), every transpose combination; FP32 math
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            ops.Add(new($"cublas_gemm_{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')}", [], 1e-4, 1e-4, r => Gemm(r, ta, tb), NeedsCublas: true));
        }
    }

    private static (float[] Gpu, float[] Cpu) Gemm(R r, bool transA, bool transB)
    {
        const int M = 77, N = 13, K = 129, batch = 3;
        var ctx = r.Device.Cuda ?? throw new InvalidOperationException("cuBLAS needs a GPU");
        float[] a = r.Randn(batch * M * K), b = r.Randn(batch * K * N);
        nint c = r.DevZeros<float>(batch * M * N);
        using (var blas = new CublasHandle(ctx))
            blas.GemmStridedBatched(transA, transB, M, N, K, 1f, (ulong)r.Dev(a), M * K, (ulong)r.Dev(b), K * N, 0f, (ulong)c, M * N, batch);
        var cc = r.HostZeros(batch, M, N);
        r.Cpu.Gemm(cc, r.Host(a, batch * M * K), r.Host(b, batch * K * N), GemmSpec.Dense(M, N, K, transA, transB, batch));
        return (r.Get(c, batch * M * N), R.Get(cc));
    }
}
