using System.Text.Json;
using Engine.Diffusion.Schedulers;
using Engine.IO.Safetensors;
using Engine.Models;
using Engine.Models.Loading;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Diffusion.Verification;

/// <summary>
/// One compared output: the error as max|a - ref| / max|ref| (or max|a| for zero-by-construction; for integer
/// tensors max|a - ref|, tolerance 0). <paramref name="Group"/> names the fixture's tolerance group.
/// </summary>
public sealed record ParityResult(string Name, double Error, double Tolerance, bool Absolute, string Group = "")
{
    public bool Pass => Error <= Tolerance && !double.IsNaN(Error);
}

/// <summary>
/// Runs our models on a reference fixture folder (the tiny-sd format, docs/fixtures.md) and compares every
/// output and gradient with what diffusers and transformers computed. Nothing here assumes the fixture's sizes:
/// configurations come from the folder.
/// </summary>
public sealed class FixtureVerifier(string folder, IOps ops)
{
    public const double ForwardTolerance = 1e-5, GradientTolerance = 1e-4;

    private readonly string _folder = folder;
    private readonly IOps _ops = ops;
    private HashSet<string>? _zeroByConstruction;
    private double _zeroTolerance = 1e-5;

    /// <summary>Every comparison the fixture supports, component by component.</summary>
    public IEnumerable<ParityResult> Run()
    {
        ReadCasesJson();
        using var cases = SafetensorsReader.Open(Path.Combine(_folder, "cases.safetensors"));
        foreach (var r in TextEncoder(cases)) yield return r;
        foreach (var r in UNet(cases)) yield return r;
        foreach (var r in Vae(cases)) yield return r;
        foreach (var r in Schedulers(cases)) yield return r;
    }

    /// <summary>Group names, in <see cref="Run"/> order (the README's tolerance groups).</summary>
    public const string TextOutput = "text encoder output", TextGradients = "text encoder parameter gradients",
        UNetOutput = "unet output", UNetInputGradients = "unet input gradients", UNetGradients = "unet parameter gradients",
        VaeOutput = "vae decoder output", SchedulerOutputs = "schedulers";

    /// <summary>
    /// What <see cref="Run"/> needs that the folder lacks: files (cases.safetensors, each component's config and
    /// weights) and input/reference keys of cases.safetensors. Empty when the folder is complete.
    /// </summary>
    public IReadOnlyList<string> Missing()
    {
        var missing = new List<string>();
        if (!Directory.Exists(_folder)) return [$"the folder itself ({_folder})"];
        foreach (var (dir, config) in new[] { ("text_encoder", "config.json"), ("unet", "config.json"), ("vae", "config.json"), ("scheduler", "scheduler_config.json") })
        {
            if (!File.Exists(Path.Combine(_folder, dir, config))) missing.Add($"{dir}/{config}");
            if (dir != "scheduler" && (!Directory.Exists(Path.Combine(_folder, dir)) || Directory.GetFiles(Path.Combine(_folder, dir), "*.safetensors").Length == 0))
                missing.Add($"{dir}/*.safetensors");
        }
        var casesPath = Path.Combine(_folder, "cases.safetensors");
        if (!File.Exists(casesPath))
        {
            missing.Add("cases.safetensors");
            return missing;
        }
        using var cases = SafetensorsReader.Open(casesPath);
        string[] required =
        [
            "text.input_ids", "text.last_hidden_state", "text.R",
            "unet.latents", "unet.timesteps", "unet.encoder_hidden_states", "unet.out", "unet.R", "unet.grad_latents", "unet.grad_encoder_hidden_states",
            "vae.z", "vae.decoded", "sched.alphas_cumprod",
            "ddpm.add_noise.original", "ddpm.add_noise.noise", "ddpm.add_noise.timesteps", "ddpm.add_noise.noisy",
        ];
        foreach (var key in required)
            if (!cases.Contains(key)) missing.Add($"cases.safetensors key '{key}'");
        foreach (var prefix in new[] { "ddim.timesteps_", "ddpm.timesteps_" })
            if (!cases.Tensors.Any(t => t.Name.StartsWith(prefix, StringComparison.Ordinal))) missing.Add($"cases.safetensors key '{prefix}<steps>'");
        foreach (var step in StepCases(cases, "ddim.").Concat(StepCases(cases, "ddpm.")))
            foreach (var part in new[] { "timestep", "sample", "model_output", "prev_sample" })
                if (!cases.Contains($"{step}.{part}")) missing.Add($"cases.safetensors key '{step}.{part}'");
        return missing;
    }

    /// <summary>
    /// AutoencoderKL.decode(vae.z).sample: post_quant_conv and the decoder, loaded from vae/ (the encoder
    /// tensors of the file are skipped), compared with vae.decoded.
    /// </summary>
    public IEnumerable<ParityResult> Vae(SafetensorsReader cases)
    {
        ReadCasesJson();
        using var parameters = _ops.CreateArena();
        using var activations = _ops.CreateArena();
        var model = ModelFiles.LoadVaeDecoder(Path.Combine(_folder, "vae"), parameters);
        var z = cases.LoadF32("vae.z", parameters);
        var decoded = model.Decode(_ops, activations, z);
        yield return Compare("vae.decoded", decoded, cases, ForwardTolerance, VaeOutput);
    }

    /// <summary>
    /// The DDIM and DDPM schedulers built from scheduler/scheduler_config.json: alphas_cumprod, the timestep
    /// lists (exact), every ddim.step_* and ddpm.step_* case (the number of inference steps is the length of
    /// the fixture's ddim.timesteps_* / ddpm.timesteps_* list) and add_noise. Host-side float math.
    /// </summary>
    public IEnumerable<ParityResult> Schedulers(SafetensorsReader cases)
    {
        ReadCasesJson();
        var config = SchedulerConfig.FromJson(Path.Combine(_folder, "scheduler", "scheduler_config.json"));
        var schedule = new NoiseSchedule(config);
        yield return CompareHost("sched.alphas_cumprod", schedule.AlphasCumprod, cases);

        var ddim = new DdimScheduler(schedule);
        foreach (var key in cases.Tensors.Select(t => t.Name).Where(n => n.StartsWith("ddim.timesteps_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            yield return CompareInts(key, ddim.SetTimesteps((int)cases.Info(key).Numel), cases);
        foreach (var step in StepCases(cases, "ddim."))
        {
            int t = ReadInts(cases, step + ".timestep")[0];
            var sample = ReadFloats(cases, step + ".sample");
            var eps = ReadFloats(cases, step + ".model_output");
            var prev = new float[sample.Length];
            var x0 = new float[sample.Length];
            // eta: the fixture's eta cases carry variance_noise (eta 1, "step_eta<k>"); the others are eta 0.
            float eta = 0f;
            float[] noise = [];
            if (cases.Contains(step + ".variance_noise"))
            {
                noise = ReadFloats(cases, step + ".variance_noise");
                eta = StepEta(step);
            }
            ddim.Step(prev, x0, eps, t, sample, eta, noise);
            yield return CompareHost(step + ".prev_sample", prev, cases);
            if (cases.Contains(step + ".pred_original_sample")) yield return CompareHost(step + ".pred_original_sample", x0, cases);
        }

        var ddpm = new DdpmScheduler(schedule);
        {
            var original = ReadFloats(cases, "ddpm.add_noise.original");
            var noisy = new float[original.Length];
            schedule.AddNoise(noisy, original, ReadFloats(cases, "ddpm.add_noise.noise"), ReadInts(cases, "ddpm.add_noise.timesteps"));
            yield return CompareHost("ddpm.add_noise.noisy", noisy, cases);
        }
        foreach (var key in cases.Tensors.Select(t => t.Name).Where(n => n.StartsWith("ddpm.timesteps_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            yield return CompareInts(key, ddpm.SetTimesteps((int)cases.Info(key).Numel), cases);
        foreach (var step in StepCases(cases, "ddpm."))
        {
            int t = ReadInts(cases, step + ".timestep")[0];
            var sample = ReadFloats(cases, step + ".sample");
            var eps = ReadFloats(cases, step + ".model_output");
            var noise = cases.Contains(step + ".variance_noise") ? ReadFloats(cases, step + ".variance_noise") : [];
            var prev = new float[sample.Length];
            var x0 = new float[sample.Length];
            if (cases.Contains(step + ".variance")) yield return CompareHost(step + ".variance", [ddpm.Variance(t)], cases);
            ddpm.Step(prev, x0, eps, t, sample, noise);
            yield return CompareHost(step + ".prev_sample", prev, cases);
            if (cases.Contains(step + ".pred_original_sample")) yield return CompareHost(step + ".pred_original_sample", x0, cases);
        }
    }

    /// <summary>The step cases of a scheduler: every "&lt;prefix&gt;step_&lt;name&gt;" that has a timestep.</summary>
    private static IEnumerable<string> StepCases(SafetensorsReader cases, string prefix) =>
        cases.Tensors.Select(t => t.Name)
            .Where(n => n.StartsWith(prefix + "step_", StringComparison.Ordinal) && n.EndsWith(".timestep", StringComparison.Ordinal))
            .Select(n => n[..^".timestep".Length]).Order(StringComparer.Ordinal);

    /// <summary>η of a DDIM case with variance noise: "step_eta&lt;η&gt;" (e.g. step_eta1, step_eta0.5), else 1.</summary>
    private static float StepEta(string step)
    {
        int i = step.LastIndexOf("step_eta", StringComparison.Ordinal);
        return i >= 0 && float.TryParse(step[(i + "step_eta".Length)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var eta) ? eta : 1f;
    }

    private static float[] ReadFloats(SafetensorsReader cases, string key)
    {
        var a = new float[cases.Info(key).Numel];
        cases.ReadF32(key, a);
        return a;
    }

    private static int[] ReadInts(SafetensorsReader cases, string key)
    {
        var a = new int[cases.Info(key).Numel];
        cases.ReadI32(key, a);
        return a;
    }

    private static ParityResult CompareInts(string key, int[] actual, SafetensorsReader cases)
    {
        var reference = ReadInts(cases, key);
        if (reference.Length != actual.Length) return new ParityResult(key, double.PositiveInfinity, 0, true, SchedulerOutputs);
        double maxErr = 0;
        for (int i = 0; i < actual.Length; i++) maxErr = Math.Max(maxErr, Math.Abs((double)actual[i] - reference[i]));
        return new ParityResult(key, maxErr, 0, true, SchedulerOutputs);
    }

    private ParityResult CompareHost(string key, float[] actual, SafetensorsReader cases) =>
        Compare(key, ReadFloats(cases, key), actual, ForwardTolerance, SchedulerOutputs);

    public IEnumerable<ParityResult> TextEncoder(SafetensorsReader cases)
    {
        ReadCasesJson();
        using var arena = _ops.CreateArena();
        var model = ModelFiles.LoadTextEncoder(Path.Combine(_folder, "text_encoder"), arena, _ => true);
        var ids = cases.LoadI32("text.input_ids", arena);
        var a = model.Activations(arena, ids.Dim(0), ids.Dim(1));
        var y = model.Forward(_ops, a, ids);
        yield return Compare("text.last_hidden_state", y, cases, ForwardTolerance, TextOutput);

        var dy = cases.LoadF32("text.R", arena);
        _ops.Fill(model.Parameters.Grads, 0f);
        model.Backward(_ops, a, ids, dy);
        foreach (var p in model.Parameters.Layout.Parameters)
        {
            string key = "te.grad." + p.Name;
            if (!cases.Contains(key)) continue;
            yield return Compare(key, model.Parameters.Grad(p.Name), cases, GradientTolerance, TextGradients);
        }
    }

    public IEnumerable<ParityResult> UNet(SafetensorsReader cases)
    {
        ReadCasesJson();
        using var parameters = _ops.CreateArena();
        using var activations = _ops.CreateArena();
        using var gradients = _ops.CreateArena();
        var model = ModelFiles.LoadUNet(Path.Combine(_folder, "unet"), parameters, _ => true);
        var latents = cases.LoadF32("unet.latents", parameters);
        var ehs = cases.LoadF32("unet.encoder_hidden_states", parameters);
        var steps = new int[latents.Dim(0)];
        cases.ReadI32("unet.timesteps", steps);
        var timesteps = Array.ConvertAll(steps, s => (float)s);
        var w = new Workspace(_ops, activations, gradients);
        var eps = model.Forward(w, latents, timesteps, ehs);
        yield return Compare("unet.out", eps, cases, ForwardTolerance, UNetOutput);

        var dEps = cases.LoadF32("unet.R", parameters);
        var dLatents = parameters.Alloc(latents.Shape);
        var dEhs = parameters.Alloc(ehs.Shape);
        _ops.Fill(model.Parameters.Grads, 0f);
        model.Backward(w, dEps, dLatents, dEhs);
        yield return Compare("unet.grad_latents", dLatents, cases, GradientTolerance, UNetInputGradients);
        yield return Compare("unet.grad_encoder_hidden_states", dEhs, cases, GradientTolerance, UNetInputGradients);
        foreach (var p in model.Parameters.Layout.Parameters)
        {
            string key = "grad." + p.Name;
            if (!cases.Contains(key)) continue;
            yield return Compare(key, model.Parameters.Grad(p.Name), cases, GradientTolerance, UNetGradients);
        }
    }

    private ParityResult Compare(string key, Tensor actual, SafetensorsReader cases, double tolerance, string group)
    {
        var a = new float[actual.Numel];
        _ops.CopyToHost(a, actual);
        return Compare(key, ReadFloats(cases, key), a, tolerance, group);
    }

    private ParityResult Compare(string key, float[] reference, float[] a, double tolerance, string group)
    {
        if (a.Length != reference.Length) return new ParityResult(key, double.PositiveInfinity, tolerance, false, group);
        double maxErr = 0, maxRef = 0, maxAbs = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs((double)a[i] - reference[i]);
            if (double.IsNaN(err)) return new ParityResult(key, double.NaN, tolerance, false, group);
            maxErr = Math.Max(maxErr, err);
            maxRef = Math.Max(maxRef, Math.Abs(reference[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(a[i]));
        }
        if (_zeroByConstruction!.Contains(key)) return new ParityResult(key, maxAbs, _zeroTolerance, true, group);
        return new ParityResult(key, maxRef > 0 ? maxErr / maxRef : maxErr, tolerance, false, group);
    }

    private void ReadCasesJson()
    {
        if (_zeroByConstruction is not null) return;
        _zeroByConstruction = [];
        var path = Path.Combine(_folder, "cases.json");
        if (!File.Exists(path)) return;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        if (doc.RootElement.TryGetProperty("zero_by_construction", out var z) && z.ValueKind == JsonValueKind.Object)
            foreach (var p in z.EnumerateObject()) _zeroByConstruction.Add(p.Name);
        if (doc.RootElement.TryGetProperty("tolerances", out var t) && t.TryGetProperty("zero_by_construction", out var zt)
            && zt.TryGetProperty("tol_abs", out var abs))
            _zeroTolerance = abs.GetDouble();
    }
}
