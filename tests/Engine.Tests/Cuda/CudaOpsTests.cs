using Engine.Ops;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Cuda;

/// <summary>
/// CudaOps through the kernel emulator (g++-compiled kernels/*.cu, host memory posing as the device, an emulated
/// cuBLAS) against CpuOps on the same inputs, every op family. Tolerances are those of the kernel tests
/// (Emulated*Tests, docs/gpu.md): bitwise where the kernel does the CPU's float operations in the CPU's order,
/// a few ulp where double sums are added in a different order, 1e-5 for attention. What this adds to the kernel
/// tests is CudaOps itself: argument order and geometry passed to the launchers, scratch sizes, None handling,
/// device-tensor checks, and the ops built from several launches (conv, reductions, GEMM mapping).
/// </summary>
public class CudaOpsTests
{
    private static void SkipWithoutEmulator() => Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);

    private const double Ulps2 = 2.4e-7;

    [SkippableFact]
    public void Elementwise_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        const int n = 1031;
        double[] a = OpHarness.Randn(n, 1), b = OpHarness.Randn(n, 2);
        Tensor ca = h.Tensor(a, 1031), cb = h.Tensor(b, 1031), da = e.Dev(a, 1031), db = e.Dev(b, 1031);
        Tensor cy = h.Zeros(n), dy = e.Zeros(n);

        h.Ops.Add(cy, ca, cb); e.Ops.Add(dy, da, db);
        Close.Bitwise("add", e.Get(dy), cy.AsSpan());
        h.Ops.Mul(cy, ca, cb); e.Ops.Mul(dy, da, db);
        Close.Bitwise("mul", e.Get(dy), cy.AsSpan());
        h.Ops.Scale(cy, ca, -0.3f); e.Ops.Scale(dy, da, -0.3f);
        Close.Bitwise("scale", e.Get(dy), cy.AsSpan());
        h.Ops.Axpy(cy, 0.7f, cb); e.Ops.Axpy(dy, 0.7f, db);
        Close.Bitwise("axpy", e.Get(dy), cy.AsSpan());
        h.Ops.Fill(cy, 2.5f); e.Ops.Fill(dy, 2.5f);
        Close.Bitwise("fill", e.Get(dy), cy.AsSpan());
        e.Ops.Copy(dy, da);
        Close.Bitwise("copy", e.Get(dy), ca.AsSpan());

        // Device ↔ host and shape checks: a host tensor is refused, as is a shape mismatch.
        Assert.Throws<ArgumentException>(() => e.Ops.Add(dy, ca, db));
        Assert.Throws<ArgumentException>(() => e.Ops.Add(dy, da, e.Zeros(n - 1)));
        Assert.Throws<ArgumentException>(() => e.Ops.Copy(dy, e.Zeros(n + 1)));
    }

    [SkippableFact]
    public void EmbeddingUpsampleConcat_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        const int vocab = 11, dim = 13;
        int[] ids = [3, 0, 10, 3, 3, 7, 1];
        double[] table = OpHarness.Randn(vocab * dim, 3), dyv = OpHarness.Randn(ids.Length * dim, 4);
        var hostIds = h.Ints(ids, ids.Length);
        foreach (var deviceIds in new[] { hostIds, e.Dev(hostIds) }) // CudaOps takes ids on either side
        {
            var cy = h.Zeros(ids.Length, dim);
            var dy = e.Zeros(ids.Length, dim);
            h.Ops.EmbeddingForward(cy, hostIds, h.Tensor(table, vocab, dim));
            e.Ops.EmbeddingForward(dy, deviceIds, e.Dev(table, vocab, dim));
            Close.Bitwise("embedding forward", e.Get(dy), cy.AsSpan());
            var ct = h.Tensor(table, vocab, dim);
            var dt = e.Dev(table, vocab, dim); // pre-filled: the backward accumulates
            h.Ops.EmbeddingBackward(ct, h.Tensor(dyv, ids.Length, dim), hostIds);
            e.Ops.EmbeddingBackward(dt, e.Dev(dyv, ids.Length, dim), deviceIds);
            Close.Bitwise("embedding backward", e.Get(dt), ct.AsSpan());
        }
        var bad = e.Dev(h.Ints([1, vocab], 2));
        Assert.Throws<ArgumentException>(() => e.Ops.EmbeddingForward(e.Zeros(2, dim), bad, e.Dev(table, vocab, dim)));

        double[] x = OpHarness.Randn(2 * 3 * 5 * 7, 5), big = OpHarness.Randn(2 * 3 * 10 * 14, 6);
        var cu = h.Zeros(2, 3, 10, 14);
        var du = e.Zeros(2, 3, 10, 14);
        h.Ops.Upsample2xForward(cu, h.Tensor(x, 2, 3, 5, 7));
        e.Ops.Upsample2xForward(du, e.Dev(x, 2, 3, 5, 7));
        Close.Bitwise("upsample forward", e.Get(du), cu.AsSpan());
        var cdx = h.Zeros(2, 3, 5, 7);
        var ddx = e.Zeros(2, 3, 5, 7);
        h.Ops.Upsample2xBackward(cdx, h.Tensor(big, 2, 3, 10, 14));
        e.Ops.Upsample2xBackward(ddx, e.Dev(big, 2, 3, 10, 14));
        Close.Bitwise("upsample backward", e.Get(ddx), cdx.AsSpan());

        double[] pa = OpHarness.Randn(2 * 3 * 35, 7), pb = OpHarness.Randn(2 * 4 * 35, 8);
        var cc = h.Zeros(2, 7, 5, 7);
        var dc = e.Zeros(2, 7, 5, 7);
        h.Ops.ConcatChannels(cc, h.Tensor(pa, 2, 3, 5, 7), h.Tensor(pb, 2, 4, 5, 7));
        e.Ops.ConcatChannels(dc, e.Dev(pa, 2, 3, 5, 7), e.Dev(pb, 2, 4, 5, 7));
        Close.Bitwise("concat", e.Get(dc), cc.AsSpan());
        var sb = e.Zeros(2, 4, 5, 7);
        e.Ops.SplitChannels(Tensor.None, sb, dc);
        Close.Bitwise("split (a = None)", e.Get(sb), h.Tensor(pb, 2, 4, 5, 7).AsSpan());
    }

    [SkippableFact]
    public void Activations_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        const int n = 7 * 78;
        double[] x = OpHarness.Randn(n, 9, 3.0), g = OpHarness.Randn(n, 10);
        Tensor cx = h.Tensor(x, 7, 78), cg = h.Tensor(g, 7, 78), dx = e.Dev(x, 7, 78), dg = e.Dev(g, 7, 78);

        void Same(string name, Action<Engine.Ops.IOps, Tensor, Tensor, Tensor> op, double atol, Shape outShape, bool backward)
        {
            var co = h.Zeros(outShape.ToArray());
            var dout = e.Zeros(outShape.ToArray());
            op(h.Ops, co, backward ? cg : cx, cx);
            op(e.Ops, dout, backward ? dg : dx, dx);
            if (atol == 0) Close.Bitwise(name, e.Get(dout), co.AsSpan());
            else Close.Assert(name, e.Get(dout), co.AsSpan(), rtol: 0, atol: atol);
        }

        var full = new Shape(7, 78);
        // SiLU, quick GELU and GELU: the CPU's vector e^x and erf differ from libm's in the last bits (see
        // EmulatedElementwiseTests), absolutely about |x|·2⁻²⁴.
        Same("silu", (o, y, _, xx) => o.SiluForward(y, xx), 2e-6, full, false);
        Same("silu backward", (o, d, dy, xx) => o.SiluBackward(d, dy, xx), 4e-6, full, true);
        Same("quick gelu", (o, y, _, xx) => o.QuickGeluForward(y, xx), 2e-6, full, false);
        Same("quick gelu backward", (o, d, dy, xx) => o.QuickGeluBackward(d, dy, xx), 4e-6, full, true);
        Same("leaky relu", (o, y, _, xx) => o.LeakyReluForward(y, xx, 0.2f), 0, full, false);
        Same("leaky relu backward", (o, d, dy, xx) => o.LeakyReluBackward(d, dy, xx, 0.2f), 0, full, true);
        Same("clamp", (o, y, _, xx) => o.ClampForward(y, xx, -1f, 1f), 0, full, false);
        Same("clamp backward", (o, d, dy, xx) => o.ClampBackward(d, dy, xx, -1f, 1f), 0, full, true);
        Same("gelu", (o, y, _, xx) => o.GeluForward(y, xx), 2e-6, full, false);
        Same("gelu backward", (o, d, dy, xx) => o.GeluBackward(d, dy, xx), 4e-6, full, true);
        Same("geglu", (o, y, _, xx) => o.GegluForward(y, xx), 4e-6, new Shape(7, 39), false);
        var cgh = h.Tensor(g[..(7 * 39)], 7, 39);
        var dgh = e.Dev(g[..(7 * 39)], 7, 39);
        var cd = h.Zeros(7, 78);
        var dd = e.Zeros(7, 78);
        h.Ops.GegluBackward(cd, cgh, cx);
        e.Ops.GegluBackward(dd, dgh, dx);
        Close.Assert("geglu backward", e.Get(dd), cd.AsSpan(), rtol: 0, atol: 4e-5);
        Assert.Throws<ArgumentException>(() => e.Ops.GegluForward(e.Zeros(7, 40), dx));
    }

    [SkippableFact]
    public void BiasLayoutLoss_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        double[] y0 = OpHarness.Randn(13 * 77, 11), bias = OpHarness.Randn(77, 12), nc = OpHarness.Randn(13, 13);

        var cy = h.Tensor(y0, 13, 77);
        var dy = e.Dev(y0, 13, 77);
        h.Ops.AddRowBias(cy, h.Tensor(bias, 77));
        e.Ops.AddRowBias(dy, e.Dev(bias, 77));
        Close.Bitwise("add row bias", e.Get(dy), cy.AsSpan());
        var cdb = h.Tensor(bias, 77);
        var ddb = e.Dev(bias, 77);
        h.Ops.AddRowBiasBackward(cdb, h.Tensor(y0, 13, 77));
        e.Ops.AddRowBiasBackward(ddb, e.Dev(y0, 13, 77));
        Close.Bitwise("add row bias backward (accumulated)", e.Get(ddb), cdb.AsSpan());

        var cyc = h.Tensor(y0, 1, 13, 7, 11);
        var dyc = e.Dev(y0, 1, 13, 7, 11);
        h.Ops.AddChannelBias(cyc, h.Tensor(nc, 1, 13));
        e.Ops.AddChannelBias(dyc, e.Dev(nc, 1, 13));
        Close.Bitwise("add channel bias", e.Get(dyc), cyc.AsSpan());
        var cbc = h.Zeros(1, 13);
        var dbc = e.Zeros(1, 13);
        h.Ops.AddChannelBiasBackward(cbc, h.Tensor(y0, 1, 13, 7, 11));
        e.Ops.AddChannelBiasBackward(dbc, e.Dev(y0, 1, 13, 7, 11));
        Close.Assert("add channel bias backward", e.Get(dbc), cbc.AsSpan(), rtol: Ulps2, atol: 0);

        var ct = h.Zeros(13 * 77);
        var dt = e.Zeros(13 * 77);
        h.Ops.Transpose(ct, h.Tensor(y0, 13 * 77), 1, 13, 77);
        e.Ops.Transpose(dt, e.Dev(y0, 13 * 77), 1, 13, 77);
        Close.Bitwise("transpose", e.Get(dt), ct.AsSpan());

        // Losses over three 8192-element chunks plus a tail.
        const int n = 3 * 8192 + 5;
        double[] x = OpHarness.Randn(n, 14, 2.0), target = OpHarness.Uniform(n, 15, 0, 1);
        Tensor cx = h.Tensor(x, n), ctg = h.Tensor(target, n), dx = e.Dev(x, n), dtg = e.Dev(target, n);
        Tensor cl = h.Zeros(1), dl = e.Zeros(1), cg = h.Zeros(n), dg = e.Zeros(n);
        h.Ops.MseForward(cl, cx, ctg); e.Ops.MseForward(dl, dx, dtg);
        Close.Assert("mse", e.Get(dl), cl.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.MseBackward(cg, cx, ctg, 0.5f); e.Ops.MseBackward(dg, dx, dtg, 0.5f);
        Close.Bitwise("mse backward", e.Get(dg), cg.AsSpan());
        h.Ops.BceWithLogitsForward(cl, cx, ctg); e.Ops.BceWithLogitsForward(dl, dx, dtg);
        Close.Assert("bce", e.Get(dl), cl.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.BceWithLogitsBackward(cg, cx, ctg, 2f); e.Ops.BceWithLogitsBackward(dg, dx, dtg, 2f);
        Close.Bitwise("bce backward", e.Get(dg), cg.AsSpan());
        Assert.Throws<ArgumentException>(() => e.Ops.MseForward(e.Zeros(2), dx, dtg));
    }

    [SkippableFact]
    public void Norms_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);

        // GroupNorm [2, 6, 5, 7], 3 groups.
        int[] xs = [2, 6, 5, 7];
        int n = 2 * 6 * 35;
        double[] x = OpHarness.Randn(n, 21, 2.0), dyv = OpHarness.Randn(n, 22), gamma = OpHarness.Randn(6, 23), beta = OpHarness.Randn(6, 24);
        Tensor cx = h.Tensor(x, xs), dx = e.Dev(x, xs);
        Tensor cyv = h.Zeros(xs), dyo = e.Zeros(xs), cm = h.Zeros(2, 3), cr = h.Zeros(2, 3), dm = e.Zeros(2, 3), dr = e.Zeros(2, 3);
        h.Ops.GroupNormForward(cyv, cm, cr, cx, h.Tensor(gamma, 6), h.Tensor(beta, 6), 3, 1e-5f);
        e.Ops.GroupNormForward(dyo, dm, dr, dx, e.Dev(gamma, 6), e.Dev(beta, 6), 3, 1e-5f);
        Close.Assert("groupnorm y", e.Get(dyo), cyv.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("groupnorm rstd", e.Get(dr), cr.AsSpan(), rtol: Ulps2, atol: 0);
        Tensor cdx = h.Zeros(xs), ddx = e.Zeros(xs), cdg = h.Tensor(gamma, 6), ddg = e.Dev(gamma, 6), cdb = h.Tensor(beta, 6), ddb = e.Dev(beta, 6);
        h.Ops.GroupNormBackward(cdx, cdg, cdb, h.Tensor(dyv, xs), cx, cm, cr, h.Tensor(gamma, 6), 3);
        e.Ops.GroupNormBackward(ddx, ddg, ddb, e.Dev(dyv, xs), dx, dm, dr, e.Dev(gamma, 6), 3);
        Close.Assert("groupnorm dx", e.Get(ddx), cdx.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("groupnorm dgamma (accumulated)", e.Get(ddg), cdg.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("groupnorm dbeta (accumulated)", e.Get(ddb), cdb.AsSpan(), rtol: 1e-6, atol: 1e-6);

        // LayerNorm over 77 rows (three 32-row chunks) of 45.
        int rows = 77, c = 45;
        double[] lx = OpHarness.Randn(rows * c, 25), ldy = OpHarness.Randn(rows * c, 26), lg = OpHarness.Randn(c, 27), lb = OpHarness.Randn(c, 28);
        Tensor clx = h.Tensor(lx, rows, c), dlx = e.Dev(lx, rows, c);
        Tensor cly = h.Zeros(rows, c), dly = e.Zeros(rows, c), clm = h.Zeros(rows), clr = h.Zeros(rows), dlm = e.Zeros(rows), dlr = e.Zeros(rows);
        h.Ops.LayerNormForward(cly, clm, clr, clx, h.Tensor(lg, c), h.Tensor(lb, c), 1e-5f);
        e.Ops.LayerNormForward(dly, dlm, dlr, dlx, e.Dev(lg, c), e.Dev(lb, c), 1e-5f);
        Close.Assert("layernorm y", e.Get(dly), cly.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Tensor cldx = h.Zeros(rows, c), dldx = e.Zeros(rows, c), cldg = h.Tensor(lg, c), dldg = e.Dev(lg, c);
        h.Ops.LayerNormBackward(cldx, cldg, Tensor.None, h.Tensor(ldy, rows, c), clx, clm, clr, h.Tensor(lg, c));
        e.Ops.LayerNormBackward(dldx, dldg, Tensor.None, e.Dev(ldy, rows, c), dlx, dlm, dlr, e.Dev(lg, c));
        Close.Assert("layernorm dx", e.Get(dldx), cldx.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("layernorm dgamma (accumulated, dbeta None)", e.Get(dldg), cldg.AsSpan(), rtol: 1e-6, atol: 1e-6);

        // BatchNorm [3, 5, 7, 11] training, running statistics updated.
        int[] bs = [3, 5, 7, 11];
        int bn = 3 * 5 * 77;
        double[] bx = OpHarness.Randn(bn, 29, 3.0), bdy = OpHarness.Randn(bn, 30), bg = OpHarness.Randn(5, 31), bb = OpHarness.Randn(5, 32);
        Tensor cbx = h.Tensor(bx, bs), dbx = e.Dev(bx, bs), cby = h.Zeros(bs), dby = e.Zeros(bs);
        Tensor cbm = h.Zeros(5), cbr = h.Zeros(5), dbm = e.Zeros(5), dbr = e.Zeros(5);
        Tensor crm = h.Zeros(5), crv = h.Tensor(new float[] { 1, 1, 1, 1, 1 }, 5), drm = e.Zeros(5), drv = e.Dev(new float[] { 1, 1, 1, 1, 1 }, 5);
        h.Ops.BatchNormForward(cby, cbm, cbr, crm, crv, cbx, h.Tensor(bg, 5), h.Tensor(bb, 5), true, 0.1f, 1e-5f);
        e.Ops.BatchNormForward(dby, dbm, dbr, drm, drv, dbx, e.Dev(bg, 5), e.Dev(bb, 5), true, 0.1f, 1e-5f);
        Close.Assert("batchnorm y", e.Get(dby), cby.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("batchnorm running var", e.Get(drv), crv.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Tensor cbdx = h.Zeros(bs), dbdx = e.Zeros(bs), cbdb = h.Zeros(5), dbdb = e.Zeros(5);
        h.Ops.BatchNormBackward(cbdx, Tensor.None, cbdb, h.Tensor(bdy, bs), cbx, cbm, cbr, h.Tensor(bg, 5));
        e.Ops.BatchNormBackward(dbdx, Tensor.None, dbdb, e.Dev(bdy, bs), dbx, dbm, dbr, e.Dev(bg, 5));
        Close.Assert("batchnorm dx", e.Get(dbdx), cbdx.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Close.Assert("batchnorm dbeta", e.Get(dbdb), cbdb.AsSpan(), rtol: 1e-6, atol: 1e-6);
        Assert.Throws<ArgumentException>(() => e.Ops.GroupNormForward(dyo, dm, dr, dx, e.Dev(gamma, 6), e.Dev(beta, 6), 4, 1e-5f));
    }

    [SkippableFact]
    public void AttentionOptimRandom_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        var spec = new AttentionSpec(2, 13, 7, 2, 40);
        int nq = (int)spec.QShape.Numel, nk = (int)spec.KvShape.Numel;
        double[] q = OpHarness.Randn(nq, 41), k = OpHarness.Randn(nk, 42), v = OpHarness.Randn(nk, 43), dout = OpHarness.Randn(nq, 44);
        Tensor cq = h.Tensor(q, nq), ck = h.Tensor(k, nk), cv = h.Tensor(v, nk), co = h.Zeros(nq), cl = h.Zeros((int)spec.LseShape.Numel);
        Tensor dq = e.Dev(q, nq), dk = e.Dev(k, nk), dv = e.Dev(v, nk), dO = e.Zeros(nq), dl = e.Zeros((int)spec.LseShape.Numel);
        h.Ops.AttentionForward(co, cl, cq, ck, cv, spec);
        e.Ops.AttentionForward(dO, dl, dq, dk, dv, spec);
        Close.Assert("attention o", e.Get(dO), co.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Close.Assert("attention lse", e.Get(dl), cl.AsSpan(), rtol: 1e-5, atol: 1e-5);
        Tensor cgq = h.Zeros(nq), cgk = h.Zeros(nk), cgv = h.Zeros(nk), dgq = e.Zeros(nq), dgv = e.Zeros(nk);
        h.Ops.AttentionBackward(cgq, cgk, cgv, h.Tensor(dout, nq), cq, ck, cv, co, cl, spec);
        e.Ops.AttentionBackward(dgq, Tensor.None, dgv, e.Dev(dout, nq), dq, dk, dv, dO, dl, spec);
        Close.Assert("attention dq", e.Get(dgq), cgq.AsSpan(), rtol: 1e-5, atol: 2e-5);
        Close.Assert("attention dv (dk None)", e.Get(dgv), cgv.AsSpan(), rtol: 1e-5, atol: 2e-5);
        Assert.Throws<ArgumentException>(() => e.Ops.AttentionForward(dO, dl, dq, dk, dv, spec with { HeadDim = 200, Heads = 1 }));

        const int n = 1000;
        double[] p = OpHarness.Randn(n, 45), g = OpHarness.Randn(n, 46);
        Tensor cp = h.Tensor(p, n), cm = h.Zeros(n), cvv = h.Zeros(n), cg = h.Tensor(g, n);
        Tensor dp = e.Dev(p, n), dm = e.Zeros(n), dvv = e.Zeros(n), dg = e.Dev(g, n);
        var adam = new AdamSpec(1e-3f, WeightDecay: 0.01f);
        for (int step = 1; step <= 3; step++)
        {
            h.Ops.AdamStep(cp, cg, cm, cvv, adam, step);
            e.Ops.AdamStep(dp, dg, dm, dvv, adam, step);
        }
        Close.Bitwise("adamw param after 3 steps", e.Get(dp), cp.AsSpan());

        Tensor cr = h.Zeros(1001), dr = e.Zeros(1001);
        h.Ops.RandomNormal(cr, 123, 7); e.Ops.RandomNormal(dr, 123, 7);
        Close.Bitwise("random normal", e.Get(dr), cr.AsSpan());
        h.Ops.RandomUniform(cr, 5, 0); e.Ops.RandomUniform(dr, 5, 0);
        Close.Bitwise("random uniform", e.Get(dr), cr.AsSpan());
    }

    [SkippableFact]
    public void ReductionsAndSurgery_MatchCpuOps()
    {
        SkipWithoutEmulator();
        using var e = new EmulatedCuda();
        using var h = new OpHarness(2);
        var segments = SegmentTable.FromSizes([8192 + 13, 0, 1, 777]);
        int n = (int)segments.Total;
        double[] a = OpHarness.Randn(n, 51), b = OpHarness.Randn(n, 52);
        Tensor ca = h.Tensor(a, n), cb = h.Tensor(b, n), da = e.Dev(a, n), db = e.Dev(b, n);
        Tensor c1 = h.Zeros(1), d1 = e.Zeros(1), cs = h.Zeros(4), ds = e.Zeros(4);

        h.Ops.Sum(c1, ca); e.Ops.Sum(d1, da);
        Close.Assert("sum", e.Get(d1), c1.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.SumSquares(c1, ca); e.Ops.SumSquares(d1, da);
        Close.Assert("sum of squares", e.Get(d1), c1.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.Dot(c1, ca, cb); e.Ops.Dot(d1, da, db);
        Close.Assert("dot", e.Get(d1), c1.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.SegmentSumSquares(cs, ca, segments); e.Ops.SegmentSumSquares(ds, da, segments);
        Close.Assert("segment sum of squares", e.Get(ds), cs.AsSpan(), rtol: Ulps2, atol: 0);
        h.Ops.SegmentDot(cs, ca, cb, segments); e.Ops.SegmentDot(ds, da, db, segments);
        var first = e.Get(ds);
        Close.Assert("segment dot", first, cs.AsSpan(), rtol: Ulps2, atol: 0);
        e.Ops.SegmentDot(ds, da, db, segments); // the cached chunk table, reused
        Close.Bitwise("segment dot, second run", e.Get(ds), first);
        Assert.Throws<ArgumentException>(() => e.Ops.SegmentDot(e.Zeros(3), da, db, segments));

        var spec = new SurgerySpec(1f, 1f, SurgeryRule.Projection);
        Tensor cst = h.Zeros(5, 4), dst = e.Zeros(5, 4);
        h.Ops.GradientSurgery(ca, cst, cb, segments, spec);
        e.Ops.GradientSurgery(da, dst, db, segments, spec);
        Close.Assert("surgery g_u", e.Get(da), ca.AsSpan(), rtol: 1e-6, atol: 1e-7);
        Close.Assert("surgery stats", e.Get(dst), cst.AsSpan(), rtol: 1e-5, atol: 1e-6);
    }
}
