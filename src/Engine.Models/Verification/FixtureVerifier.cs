using System.Text.Json;
using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Loading;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Models.Verification;

/// <summary>One compared output: the error as max|a - ref| / max|ref| (or max|a| for zero-by-construction).</summary>
public sealed record ParityResult(string Name, double Error, double Tolerance, bool Absolute)
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
    }

    public IEnumerable<ParityResult> TextEncoder(SafetensorsReader cases)
    {
        ReadCasesJson();
        using var arena = new NativeArena();
        var model = ModelFiles.LoadTextEncoder(Path.Combine(_folder, "text_encoder"), arena, _ => true);
        var ids = cases.LoadI32("text.input_ids", arena);
        var a = model.Activations(arena, ids.Dim(0), ids.Dim(1));
        var y = model.Forward(_ops, a, ids);
        yield return Compare("text.last_hidden_state", y, cases, ForwardTolerance);

        var dy = cases.LoadF32("text.R", arena);
        _ops.Fill(model.Parameters.Grads, 0f);
        model.Backward(_ops, a, ids, dy);
        foreach (var p in model.Parameters.Layout.Parameters)
        {
            string key = "te.grad." + p.Name;
            if (!cases.Contains(key)) continue;
            yield return Compare(key, model.Parameters.Grad(p.Name), cases, GradientTolerance);
        }
    }

    public IEnumerable<ParityResult> UNet(SafetensorsReader cases)
    {
        ReadCasesJson();
        using var parameters = new NativeArena();
        using var activations = new NativeArena();
        using var gradients = new NativeArena();
        var model = ModelFiles.LoadUNet(Path.Combine(_folder, "unet"), parameters, _ => true);
        var latents = cases.LoadF32("unet.latents", parameters);
        var ehs = cases.LoadF32("unet.encoder_hidden_states", parameters);
        var steps = new int[latents.Dim(0)];
        cases.ReadI32("unet.timesteps", steps);
        var timesteps = Array.ConvertAll(steps, s => (float)s);
        var w = new Workspace(_ops, activations, gradients);
        var eps = model.Forward(w, latents, timesteps, ehs);
        yield return Compare("unet.out", eps, cases, ForwardTolerance);

        var dEps = cases.LoadF32("unet.R", parameters);
        var dLatents = parameters.Alloc(latents.Shape);
        var dEhs = parameters.Alloc(ehs.Shape);
        _ops.Fill(model.Parameters.Grads, 0f);
        model.Backward(w, dEps, dLatents, dEhs);
        yield return Compare("unet.grad_latents", dLatents, cases, GradientTolerance);
        yield return Compare("unet.grad_encoder_hidden_states", dEhs, cases, GradientTolerance);
        foreach (var p in model.Parameters.Layout.Parameters)
        {
            string key = "grad." + p.Name;
            if (!cases.Contains(key)) continue;
            yield return Compare(key, model.Parameters.Grad(p.Name), cases, GradientTolerance);
        }
    }

    private ParityResult Compare(string key, Tensor actual, SafetensorsReader cases, double tolerance)
    {
        var reference = new float[cases.Info(key).Numel];
        cases.ReadF32(key, reference);
        var a = new float[actual.Numel];
        _ops.CopyToHost(a, actual);
        if (a.Length != reference.Length) return new ParityResult(key, double.PositiveInfinity, tolerance, false);
        double maxErr = 0, maxRef = 0, maxAbs = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs((double)a[i] - reference[i]);
            if (double.IsNaN(err)) return new ParityResult(key, double.NaN, tolerance, false);
            maxErr = Math.Max(maxErr, err);
            maxRef = Math.Max(maxRef, Math.Abs(reference[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(a[i]));
        }
        if (_zeroByConstruction!.Contains(key)) return new ParityResult(key, maxAbs, _zeroTolerance, true);
        return new ParityResult(key, maxRef > 0 ? maxErr / maxRef : maxErr, tolerance, false);
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
