using System.Text.Json;

namespace Engine.Diffusion.Schedulers;

/// <summary>
/// The noise-schedule keys of a diffusers scheduler_config.json (shared by PNDM, DDIM and DDPM configs).
/// Defaults are diffusers' DDIM/DDPM defaults; SD 1.x files set every key that matters.
/// </summary>
public sealed record SchedulerConfig
{
    public int NumTrainTimesteps { get; init; } = 1000;
    /// <summary>Doubles, as Python holds them: scaled_linear takes their square roots before rounding to float32.</summary>
    public double BetaStart { get; init; } = 0.0001;
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>"linear" or "scaled_linear" (the SD one: linear in √β, then squared).</summary>
    public string BetaSchedule { get; init; } = "linear";

    /// <summary>"epsilon", "sample" or "v_prediction".</summary>
    public string PredictionType { get; init; } = "epsilon";
    public bool ClipSample { get; init; }
    public float ClipSampleRange { get; init; } = 1f;
    public bool SetAlphaToOne { get; init; } = true;
    public int StepsOffset { get; init; }

    /// <summary>"leading", "trailing" or "linspace".</summary>
    public string TimestepSpacing { get; init; } = "leading";

    public static SchedulerConfig FromJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return FromJson(doc.RootElement, path);
    }

    public static SchedulerConfig FromJson(JsonElement r, string source)
    {
        var d = new SchedulerConfig();
        var c = new SchedulerConfig
        {
            NumTrainTimesteps = r.TryGetProperty("num_train_timesteps", out var n) ? n.GetInt32() : d.NumTrainTimesteps,
            BetaStart = r.TryGetProperty("beta_start", out var b0) ? b0.GetDouble() : d.BetaStart,
            BetaEnd = r.TryGetProperty("beta_end", out var b1) ? b1.GetDouble() : d.BetaEnd,
            BetaSchedule = Str(r, "beta_schedule") ?? d.BetaSchedule,
            PredictionType = Str(r, "prediction_type") ?? d.PredictionType,
            ClipSample = Bool(r, "clip_sample", d.ClipSample),
            ClipSampleRange = r.TryGetProperty("clip_sample_range", out var cr) && cr.ValueKind == JsonValueKind.Number ? cr.GetSingle() : d.ClipSampleRange,
            SetAlphaToOne = Bool(r, "set_alpha_to_one", d.SetAlphaToOne),
            StepsOffset = r.TryGetProperty("steps_offset", out var so) && so.ValueKind == JsonValueKind.Number ? so.GetInt32() : 0,
            TimestepSpacing = Str(r, "timestep_spacing") ?? d.TimestepSpacing,
        };
        if (c.BetaSchedule is not ("linear" or "scaled_linear"))
            throw new InvalidDataException($"{source}: beta_schedule '{c.BetaSchedule}' is not supported (linear, scaled_linear)");
        if (r.TryGetProperty("trained_betas", out var tb) && tb.ValueKind != JsonValueKind.Null)
            throw new InvalidDataException($"{source}: trained_betas is not supported");
        if (c.PredictionType is not ("epsilon" or "sample" or "v_prediction"))
            throw new InvalidDataException($"{source}: prediction_type '{c.PredictionType}' is not supported (epsilon, sample, v_prediction)");
        if (c.TimestepSpacing is not ("leading" or "trailing" or "linspace"))
            throw new InvalidDataException($"{source}: timestep_spacing '{c.TimestepSpacing}' is not supported (leading, trailing, linspace)");
        if (Bool(r, "thresholding", false)) throw new InvalidDataException($"{source}: thresholding is not supported");
        if (Bool(r, "rescale_betas_zero_snr", false)) throw new InvalidDataException($"{source}: rescale_betas_zero_snr is not supported");
        if (r.TryGetProperty("variance_type", out var vt) && vt.ValueKind == JsonValueKind.String && vt.GetString() != "fixed_small")
            throw new InvalidDataException($"{source}: variance_type '{vt.GetString()}' is not supported (fixed_small)");
        if (c.NumTrainTimesteps < 2) throw new InvalidDataException($"{source}: num_train_timesteps {c.NumTrainTimesteps} must be at least 2");
        return c;
    }

    private static string? Str(JsonElement r, string key) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement r, string key, bool fallback) =>
        r.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
