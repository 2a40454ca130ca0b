using System.Text;
using Engine.IO.Safetensors;
using Engine.Models.Unet;

namespace Engine.Unlearning.Outputs;

/// <summary>One module's update from a LoRA file: weight += scale·Factor·(Up·Down), Up [Out, Rank], Down [Rank, In].</summary>
public sealed record LoraPatch(string Weight, int Out, int In, int Rank, float[] Up, float[] Down, float Factor)
{
    /// <summary>Adds scale·Factor·Up·Down to the row-major [Out, In] <paramref name="weight"/> (accumulated in double).</summary>
    public void AddTo(Span<float> weight, float scale)
    {
        if (weight.Length != Out * In) throw new ArgumentException($"'{Weight}': {weight.Length} values, expected {Out}×{In}", nameof(weight));
        double f = (double)scale * Factor;
        for (int o = 0; o < Out; o++)
            for (int i = 0; i < In; i++)
            {
                double sum = 0;
                for (int k = 0; k < Rank; k++) sum += (double)Up[o * Rank + k] * Down[k * In + i];
                weight[o * In + i] = (float)(weight[o * In + i] + f * sum);
            }
    }
}

/// <summary>
/// Reads a LoRA in either layout of <see cref="LoraFormat"/> (told apart by its keys) and applies it to UNet weights.
/// Everything is checked before anything is applied — a factor without its partner, a factor that is not 2-D, ranks or
/// shapes that do not fit the module's weight, a module the UNet lacks, a key of neither layout — and all problems are
/// reported in one <see cref="InvalidDataException"/> naming the keys, so a bad file leaves the weights untouched.
/// </summary>
public static class LoraFile
{
    /// <summary>The patches of <paramref name="path"/> for a model whose weights have the given shapes (diffusers names).</summary>
    public static IReadOnlyList<LoraPatch> Read(string path, IReadOnlyDictionary<string, int[]> weightShapes)
    {
        using var file = SafetensorsReader.Open(path);
        var names = file.Tensors.Select(t => t.Name).ToList();
        bool kohya = names.Any(n => n.StartsWith(LoraFormat.KohyaPrefix, StringComparison.Ordinal));
        bool diffusers = names.Any(n => n.StartsWith(LoraFormat.DiffusersPrefix, StringComparison.Ordinal));
        if (kohya == diffusers)
            throw new InvalidDataException(kohya
                ? $"{path} mixes kohya (lora_unet_…) and diffusers (unet.…) keys"
                : $"{path} is not a UNet LoRA: no lora_unet_… or unet.… keys");

        // kohya turned the dots into underscores, so its module names are only found through the model's own.
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var w in weightShapes.Keys.Where(w => w.EndsWith(".weight", StringComparison.Ordinal)))
        {
            string module = LoraFormat.Module(w);
            byKey[kohya ? LoraFormat.KohyaModule(module) : LoraFormat.DiffusersModule(module)] = w;
        }
        string down = kohya ? LoraFormat.KohyaDown : LoraFormat.DiffusersDown, up = kohya ? LoraFormat.KohyaUp : LoraFormat.DiffusersUp;

        var problems = new StringBuilder();
        var modules = new SortedDictionary<string, (string? Down, string? Up, string? Alpha)>(StringComparer.Ordinal);
        foreach (var n in names)
        {
            string? m = Strip(n, down) ?? Strip(n, up) ?? (kohya ? Strip(n, LoraFormat.KohyaAlpha) : null);
            if (m is null) { problems.Append($"\n  {n}: not a {(kohya ? "kohya" : "diffusers")} UNet LoRA key"); continue; }
            var e = modules.GetValueOrDefault(m);
            if (n.EndsWith(down, StringComparison.Ordinal)) e.Down = n;
            else if (n.EndsWith(up, StringComparison.Ordinal)) e.Up = n;
            else e.Alpha = n;
            modules[m] = e;
        }

        var patches = new List<LoraPatch>();
        foreach (var (key, e) in modules)
        {
            if (!byKey.TryGetValue(key, out var weight)) { problems.Append($"\n  {key}: unknown module, the UNet has no such Linear weight"); continue; }
            if (e.Down is null || e.Up is null) { problems.Append($"\n  {key}: missing {(e.Down is null ? key + down : key + up)}"); continue; }
            var d = file.Info(e.Down);
            var u = file.Info(e.Up);
            var ws = weightShapes[weight];
            bool ok = true;
            foreach (var t in new[] { d, u })
                if (t.Rank != 2 || !t.DType.IsFloat()) { problems.Append($"\n  {t.Name}: {t.DType}{t.ShapeString()} is not a 2-D float matrix"); ok = false; }
            if (!ok) continue;
            if (ws.Length != 2) { problems.Append($"\n  {key}: {weight} is not a 2-D weight"); continue; }
            if (u.Shape[1] != d.Shape[0] || u.Shape[0] != ws[0] || d.Shape[1] != ws[1])
            {
                problems.Append($"\n  {key}: shape mismatch, {e.Up}{u.ShapeString()} · {e.Down}{d.ShapeString()} does not give {weight} [{ws[0]}, {ws[1]}]");
                continue;
            }
            int rank = (int)d.Shape[0];
            float factor = 1;
            if (e.Alpha is not null)
            {
                var a = file.Info(e.Alpha);
                if (a.Numel != 1 || !a.DType.IsFloat()) { problems.Append($"\n  {e.Alpha}: {a.DType}{a.ShapeString()} is not a float scalar"); continue; }
                var alpha = new float[1];
                file.ReadF32(e.Alpha, alpha);
                factor = alpha[0] / rank; // kohya scales the update by alpha/R; no alpha means alpha = R
            }
            var upValues = new float[u.Numel];
            var downValues = new float[d.Numel];
            file.ReadF32(e.Up, upValues);
            file.ReadF32(e.Down, downValues);
            patches.Add(new LoraPatch(weight, ws[0], ws[1], rank, upValues, downValues, factor));
        }
        if (problems.Length > 0) throw new InvalidDataException($"{path} is not a LoRA for this UNet:{problems}");
        return patches;
    }

    /// <summary>
    /// Adds scale × the LoRA at <paramref name="path"/> to the UNet's weights (explicit host copies through its memory,
    /// so it works on any backend). Returns the weights changed; a bad file changes none.
    /// </summary>
    public static IReadOnlyList<string> Apply(UNet2DConditionModel unet, string path, float scale)
    {
        ArgumentNullException.ThrowIfNull(unet);
        var p = unet.Parameters;
        var shapes = p.Layout.Parameters.ToDictionary(x => x.Name, x => x.Shape.ToArray());
        var patches = Read(path, shapes);
        foreach (var patch in patches)
        {
            var w = p.Weight(patch.Weight);
            var host = new float[patch.Out * patch.In];
            p.Memory.Read<float>(host, w);
            patch.AddTo(host, scale);
            p.Memory.Write<float>(w, host);
        }
        return patches.Select(x => x.Weight).ToList();
    }

    private static string? Strip(string name, string suffix) =>
        name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : null;
}
