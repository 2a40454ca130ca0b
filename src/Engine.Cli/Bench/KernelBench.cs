using System.Globalization;
using Engine.Memory;
using Engine.Models.Unet;
using Engine.Ops;
using Engine.Tensors;
using Engine.Unlearning;

namespace Engine.Cli.Bench;

/// <summary>The groups of rows <c>doco bench kernels</c> can run (<c>--only</c>).</summary>
[Flags]
internal enum KernelGroups
{
    None = 0,
    Memory = 1,
    Gemm = 2,
    Attention = 4,
    Conv = 8,
    All = Memory | Gemm | Attention | Conv,
}

/// <summary>One measured op: its time per run and the bytes it must move or the FLOPs it must do.</summary>
internal sealed record KernelBenchRow(string Group, string Op, string Shape, double Seconds, double Work, bool IsBandwidth,
                                      string Versus = "", double Ratio = double.NaN)
{
    public double Rate => Work / Seconds;

    public string RateText => IsBandwidth
        ? string.Create(CultureInfo.InvariantCulture, $"{Rate / 1e9:F1} GB/s")
        : string.Create(CultureInfo.InvariantCulture, $"{Rate / 1e12:F3} TFLOP/s");
}

/// <summary>
/// The kernel benchmark behind <c>doco bench kernels</c>, at the shapes of one UNet config. Every figure is a rate
/// over the minimum traffic or arithmetic the op needs (not what a kernel happens to move), and the memory-bound ops
/// are set against a device-to-device copy of the same size timed in the same run:
/// <list type="bullet">
/// <item>copy: 8 B/float (read + write); gradient surgery: 20 B/float (pass 1 reads g_u and g_r, pass 2 reads both and
/// writes g_u); AdamW: 28 B/float (reads p, g, m, v; writes p, m, v). Over DoCo's default trainable set (attn2.to_k
/// and to_v) and over the whole UNet.</item>
/// <item>GEMM: 2·M·N·K at the UNet's own linear layers (top level, <c>batch</c> images), FP32 and, with a TF32 backend,
/// TF32 against FP32.</item>
/// <item>attention: forward 4·B·H·Tq·Tk·D (q·kᵀ and p·v), backward 10·B·H·Tq·Tk·D (the recomputed scores and four
/// products), self and cross at every level with transformers.</item>
/// <item>conv 3×3: forward 2·N·K·H·W·C·9, backward twice that (dx and dweight), at every level's width.</item>
/// </list>
/// Each op runs once untimed (first-use NVRTC compiles, scratch growth), once timed, then as many times as fill
/// <c>minSeconds</c> (at most 1000) and the mean is kept.
/// </summary>
internal sealed class KernelBench(IOps ops, IOps? tf32, IBenchClock clock, Func<ITensorArena> newArena, double minSeconds, TextWriter output)
{
    /// <summary>The surgery kernel should run at this fraction of copy bandwidth or better (issue #3).</summary>
    public const double SurgeryTarget = 0.85;

    public List<KernelBenchRow> Rows { get; } = [];

    /// <param name="wholeUnet">also time the memory-bound ops over every UNet tensor, not only DoCo's default set</param>
    /// <param name="groups">which groups of rows to run (default: all)</param>
    public void RunAll(UNetConfig unet, int textLength, int size, int batch, bool wholeUnet = true, KernelGroups groups = KernelGroups.All)
    {
        output.WriteLine($"{"group",-9} {"op",-34} {"shape",-46} {"time",12} {"rate",16}  vs");
        if (groups.HasFlag(KernelGroups.Memory)) Memory(unet, wholeUnet);
        if (groups.HasFlag(KernelGroups.Gemm)) Gemms(unet, textLength, size, batch);
        if (groups.HasFlag(KernelGroups.Attention)) Attention(unet, textLength, size, batch);
        if (groups.HasFlag(KernelGroups.Conv)) Convolutions(unet, size, batch);
        foreach (var s in Rows.Where(r => r.Op.StartsWith("gradient surgery", StringComparison.Ordinal)))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Op}: {s.Ratio:P0} of copy bandwidth over {s.Shape} (target ≥ {SurgeryTarget:P0}): {(s.Ratio >= SurgeryTarget ? "met" : "NOT met")}"));
        // Attention against the square FP32 GEMM timed in the same run: the ceiling its products could reach.
        if (Rows.FirstOrDefault(r => r.Op == "square, FP32") is { } square)
        {
            foreach (var a in Rows.Where(r => r.Group == "attention"))
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{a.Op}: {a.Rate / square.Rate:P0} of the square FP32 GEMM's rate ({square.Shape}, {square.RateText})"));
        }
    }

    private void Memory(UNetConfig unet, bool wholeUnet)
    {
        var declared = UNet2DConditionModel.Declare(unet);
        var kv = TrainableSubsets.Predicate(TrainableSubset.KeyValue);
        foreach (var (label, sizes) in new[]
                 {
                     ("attn2.to_k/v", declared.Where(p => kv(p.Item1)).Select(p => p.Item2.Numel).ToArray()),
                     ("whole UNet", declared.Select(p => p.Item2.Numel).ToArray()),
                 }.Take(wholeUnet ? 2 : 1))
        {
            var segments = SegmentTable.FromSizes(sizes);
            int n = checked((int)segments.Total);
            string shape = string.Create(CultureInfo.InvariantCulture, $"{label}: {n:N0} floats, {segments.Count} tensors");
            var arena = newArena();
            try
            {
                Tensor a = arena.Alloc(new Shape(n), zero: false), b = arena.Alloc(new Shape(n), zero: false);
                ops.RandomNormal(a, 1, 0);
                double copy = Time(() => ops.Copy(b, a));
                var copyRow = Add(new KernelBenchRow("memory", "device copy", shape, copy, 8.0 * n, true));

                ops.RandomNormal(b, 2, 0); // g_r independent of g_u, so some tensors conflict and the projection fires
                var stats = arena.Alloc(new Shape(segments.Count + 1, 4));
                double surgery = Time(() => ops.GradientSurgery(a, stats, b, segments, new SurgerySpec()));
                Add(new KernelBenchRow("memory", "gradient surgery (fused, 2 passes)", shape, surgery, 20.0 * n, true,
                    "copy", 20.0 * n / surgery / copyRow.Rate));

                Tensor m = arena.Alloc(new Shape(n)), v = arena.Alloc(new Shape(n));
                int step = 0;
                var adam = new AdamSpec(1e-5f, WeightDecay: 1e-2f);
                double adamw = Time(() => ops.AdamStep(a, b, m, v, adam, ++step));
                Add(new KernelBenchRow("memory", "AdamW (fused)", shape, adamw, 28.0 * n, true, "copy", 28.0 * n / adamw / copyRow.Rate));
            }
            finally
            {
                (arena as IDisposable)?.Dispose();
            }
        }
    }

    private void Gemms(UNetConfig unet, int textLength, int size, int batch)
    {
        int c = unet.BlockOutChannels[0], tokens = batch * size * size, square = Math.Min(4096, tokens);
        // (name, M, N, K): rows × output features × input features, weights transposed as in Linear.
        foreach (var (name, m, n, k) in new[]
                 {
                     ("attn1.to_q", tokens, c, c),
                     ("ff.net.0.proj (GEGLU)", tokens, 8 * c, c),
                     ("ff.net.2", tokens, c, 4 * c),
                     ("attn2.to_k", batch * textLength, c, unet.CrossAttentionDim),
                     ("square", square, square, square),
                 })
        {
            var arena = newArena();
            try
            {
                Tensor x = arena.Alloc(new Shape(m, k), zero: false), w = arena.Alloc(new Shape(n, k), zero: false), y = arena.Alloc(new Shape(m, n));
                ops.RandomNormal(x, 3, 0);
                ops.RandomNormal(w, 4, 0);
                var spec = GemmSpec.Dense(m, n, k, transB: true);
                string shape = $"M {m} N {n} K {k}";
                double flops = 2.0 * m * n * k;
                double fp32 = Time(() => ops.Gemm(y, x, w, spec));
                var fp32Row = Add(new KernelBenchRow("gemm", $"{name}, FP32", shape, fp32, flops, false));
                if (tf32 is not null)
                {
                    double t = Time(() => tf32.Gemm(y, x, w, spec));
                    Add(new KernelBenchRow("gemm", $"{name}, TF32", shape, t, flops, false, "FP32", flops / t / fp32Row.Rate));
                }
            }
            finally
            {
                (arena as IDisposable)?.Dispose();
            }
        }
    }

    private void Attention(UNetConfig unet, int textLength, int size, int batch)
    {
        for (int level = 0; level < unet.BlockOutChannels.Length; level++)
        {
            if (!unet.DownBlockTypes[level].StartsWith("CrossAttn", StringComparison.Ordinal)) continue;
            int heads = unet.NumAttentionHeads[level], headDim = unet.BlockOutChannels[level] / heads, side = size >> level, t = side * side;
            foreach (var (kind, tk) in new[] { ("attn1 (self)", t), ("attn2 (cross)", textLength) })
            {
                var spec = new AttentionSpec(batch, t, tk, heads, headDim);
                var arena = newArena();
                try
                {
                    Tensor q = arena.Alloc(spec.QShape, zero: false), k = arena.Alloc(spec.KvShape, zero: false), v = arena.Alloc(spec.KvShape, zero: false);
                    Tensor o = arena.Alloc(spec.QShape), lse = arena.Alloc(spec.LseShape), dout = arena.Alloc(spec.QShape, zero: false);
                    Tensor dq = arena.Alloc(spec.QShape), dk = arena.Alloc(spec.KvShape), dv = arena.Alloc(spec.KvShape);
                    ops.RandomNormal(q, 5, 0);
                    ops.RandomNormal(k, 6, 0);
                    ops.RandomNormal(v, 7, 0);
                    ops.RandomNormal(dout, 8, 0);
                    string shape = $"B {batch} H {heads} Tq {t} Tk {tk} D {headDim}";
                    double work = 4.0 * batch * heads * t * tk * headDim;
                    double forward = Time(() => ops.AttentionForward(o, lse, q, k, v, spec));
                    Add(new KernelBenchRow("attention", $"{kind} forward, {side}×{side}", shape, forward, work, false));
                    double backward = Time(() => ops.AttentionBackward(dq, dk, dv, dout, q, k, v, o, lse, spec));
                    Add(new KernelBenchRow("attention", $"{kind} backward, {side}×{side}", shape, backward, 2.5 * work, false, "forward's time", backward / forward));
                }
                finally
                {
                    (arena as IDisposable)?.Dispose();
                }
            }
        }
    }

    private void Convolutions(UNetConfig unet, int size, int batch)
    {
        for (int level = 0; level < unet.BlockOutChannels.Length; level++)
        {
            int c = unet.BlockOutChannels[level], side = size >> level;
            var spec = Conv2dSpec.Square(batch, c, side, side, c, 3, pad: 1);
            var arena = newArena();
            try
            {
                Tensor x = arena.Alloc(spec.XShape, zero: false), w = arena.Alloc(spec.WeightShape, zero: false), bias = arena.Alloc(new Shape(c));
                Tensor y = arena.Alloc(spec.YShape), dy = arena.Alloc(spec.YShape, zero: false);
                Tensor dx = arena.Alloc(spec.XShape), dw = arena.Alloc(spec.WeightShape), db = arena.Alloc(new Shape(c));
                ops.RandomNormal(x, 9, 0);
                ops.RandomNormal(w, 10, 0);
                ops.RandomNormal(dy, 11, 0);
                string shape = $"N {batch} C {c} {side}×{side} K {c} 3×3";
                double work = 2.0 * batch * c * side * side * c * 9;
                double forward = Time(() => ops.Conv2dForward(y, x, w, bias, spec));
                Add(new KernelBenchRow("conv", $"resnet conv 3×3 forward, {side}×{side}", shape, forward, work, false));
                double backward = Time(() => ops.Conv2dBackward(dx, dw, db, dy, x, w, spec));
                Add(new KernelBenchRow("conv", $"resnet conv 3×3 backward, {side}×{side}", shape, backward, 2 * work, false, "forward's time", backward / forward));
            }
            finally
            {
                (arena as IDisposable)?.Dispose();
            }
        }
    }

    private KernelBenchRow Add(KernelBenchRow row)
    {
        Rows.Add(row);
        string versus = double.IsNaN(row.Ratio) ? "" : string.Create(CultureInfo.InvariantCulture, $"{row.Ratio:F2}× {row.Versus}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{row.Group,-9} {row.Op,-34} {row.Shape,-46} {row.Seconds * 1e3,9:F3} ms {row.RateText,16}  {versus}"));
        return row;
    }

    private double Time(Action body)
    {
        body(); // untimed: NVRTC compiles a kernel on first use, scratch buffers grow once
        double once = clock.SecondsPerRun(body, 1);
        int reps = (int)Math.Clamp(Math.Ceiling(minSeconds / Math.Max(once, 1e-7)), 1, 1000);
        return reps == 1 ? once : clock.SecondsPerRun(body, reps);
    }
}
