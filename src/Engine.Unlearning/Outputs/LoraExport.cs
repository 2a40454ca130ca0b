using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.IO;
using Engine.IO.Safetensors;

namespace Engine.Unlearning.Outputs;

/// <summary>One exported module: its rank (min(R, out, in)) and ‖Δ − up·down‖_F / ‖Δ‖_F (0 when Δ = 0).</summary>
public sealed record LoraTensorResult(string Tensor, int Out, int In, int Rank, double DeltaNorm, double RelativeError);

/// <summary>What <see cref="LoraExport.Write"/> wrote. <see cref="Skipped"/>: changed tensors that are not 2-D weights (biases, convolutions).</summary>
public sealed record LoraExportResult(string Folder, int Rank, IReadOnlyList<LoraTensorResult> Tensors, double OverallError, IReadOnlyList<string> Skipped)
{
    public string KohyaPath => Path.Combine(Folder, LoraExport.KohyaName);
    public string DiffusersPath => Path.Combine(Folder, LoraExport.DiffusersName);
    public string JsonPath => Path.Combine(Folder, LoraExport.JsonName);
}

/// <summary>
/// An erasure as a LoRA: for each changed weight Δ = W_erased − W_base, truncated to rank R by the SVD
/// (Eckart–Young: the best rank-R approximation in Frobenius norm), factored symmetrically as
/// up = U_R·√Σ_R [out, R], down = √Σ_R·V_Rᵀ [R, in] so neither factor carries all the scale. Written in both layouts of
/// <see cref="LoraFormat"/> plus lora.json (rank, per-tensor and overall relative error).
/// </summary>
public static class LoraExport
{
    public const string FolderName = "lora", KohyaName = "kohya.safetensors", DiffusersName = "pytorch_lora_weights.safetensors", JsonName = "lora.json";
    public const string RankKey = "rank", BaseModelHashKey = "base_model_hash", FormatKey = "format";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The factors of one module, float as stored.</summary>
    public sealed record Factors(string Tensor, int Out, int In, int Rank, float[] Up, float[] Down, double DeltaNorm, double RelativeError);

    /// <summary>Rank-<paramref name="rank"/> factors of <paramref name="erased"/> − <paramref name="baseWeight"/> ([out, in] row-major).</summary>
    public static Factors Factor(string tensor, ReadOnlySpan<float> baseWeight, ReadOnlySpan<float> erased, int outDim, int inDim, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        var delta = new double[(long)outDim * inDim];
        if (baseWeight.Length != delta.Length || erased.Length != delta.Length)
            throw new ArgumentException($"'{tensor}': base has {baseWeight.Length} values, erased {erased.Length}, expected {outDim}×{inDim}");
        for (int i = 0; i < delta.Length; i++) delta[i] = (double)erased[i] - baseWeight[i];
        var svd = Svd.Compute(delta, outDim, inDim);
        int r = Math.Min(rank, svd.K);
        var up = new float[outDim * r];
        var down = new float[r * inDim];
        for (int k = 0; k < r; k++)
        {
            double root = Math.Sqrt(svd.S[k]);
            for (int o = 0; o < outDim; o++) up[o * r + k] = (float)(svd.U[o * svd.K + k] * root);
            for (int i = 0; i < inDim; i++) down[k * inDim + i] = (float)(root * svd.V[i * svd.K + k]);
        }
        // Measured on the stored float factors, so the number describes the file rather than the ideal truncation.
        double norm2 = 0, err2 = 0;
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++)
            {
                double approx = 0;
                for (int k = 0; k < r; k++) approx += (double)up[o * r + k] * down[k * inDim + i];
                double d = delta[o * inDim + i];
                norm2 += d * d;
                err2 += (d - approx) * (d - approx);
            }
        double norm = Math.Sqrt(norm2);
        return new Factors(tensor, outDim, inDim, r, up, down, norm, norm == 0 ? 0 : Math.Sqrt(err2) / norm);
    }

    /// <summary>
    /// Factors every tensor of the delta file (new values of the changed weights) against the base UNet's weights and
    /// writes <paramref name="folder"/> (kohya.safetensors, pytorch_lora_weights.safetensors, lora.json). All three
    /// are staged in a sibling folder and renamed into place, so the folder holds a complete old or new export.
    /// </summary>
    public static LoraExportResult Write(string baseUnetWeights, string deltaPath, int rank, string folder, string? baseModelHash = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        using var baseFile = SafetensorsReader.Open(baseUnetWeights);
        using var delta = SafetensorsReader.Open(deltaPath);
        var inputs = new List<(string Name, float[] Base, float[] Erased, int Out, int In)>();
        var skipped = new List<string>();
        foreach (var t in delta.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (!baseFile.Contains(t.Name)) throw new InvalidDataException($"{deltaPath}: tensor {t.Name} is not in the base UNet {baseUnetWeights}");
            var b = baseFile.Info(t.Name);
            if (!b.Shape.SequenceEqual(t.Shape)) throw new InvalidDataException($"{deltaPath}: {t.Name} is {t.ShapeString()}, the base UNet's is {b.ShapeString()}");
            if (t.Rank != 2 || !t.Name.EndsWith(".weight", StringComparison.Ordinal))
            {
                skipped.Add(t.Name); // a bias or a convolution: not a Linear weight a LoRA can carry
                continue;
            }
            int outDim = checked((int)t.Shape[0]), inDim = checked((int)t.Shape[1]);
            var w0 = new float[outDim * inDim];
            var w1 = new float[w0.Length];
            baseFile.ReadF32(t.Name, w0);
            delta.ReadF32(t.Name, w1);
            inputs.Add((t.Name, w0, w1, outDim, inDim));
        }
        // The SVDs are independent and take seconds each at SD size (1280×768): one per core.
        var factored = new Factors[inputs.Count];
        Parallel.For(0, inputs.Count, i => factored[i] = Factor(inputs[i].Name, inputs[i].Base, inputs[i].Erased, inputs[i].Out, inputs[i].In, rank));
        var factors = factored.ToList();
        if (factors.Count == 0) throw new InvalidDataException($"{deltaPath} holds no 2-D weight to export as a LoRA");

        double total2 = factors.Sum(f => f.DeltaNorm * f.DeltaNorm);
        double err2 = factors.Sum(f => Math.Pow(f.RelativeError * f.DeltaNorm, 2));
        double overall = total2 == 0 ? 0 : Math.Sqrt(err2 / total2);
        var results = factors.Select(f => new LoraTensorResult(f.Tensor, f.Out, f.In, f.Rank, f.DeltaNorm, f.RelativeError)).ToList();

        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full)) throw new IOException($"{full} is a file; expected a folder (or nothing)");
        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string stage = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        string old = stage + ".old";
        try
        {
            Directory.CreateDirectory(stage);
            Save(Path.Combine(stage, KohyaName), factors, rank, baseModelHash, kohya: true);
            Save(Path.Combine(stage, DiffusersName), factors, rank, baseModelHash, kohya: false);
            AtomicFile.WriteAllText(Path.Combine(stage, JsonName), Json(rank, baseModelHash, results, overall, skipped).ToJsonString(Indented));
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(stage, full);
        }
        catch
        {
            if (Directory.Exists(old) && !Directory.Exists(full)) Directory.Move(old, full);
            throw;
        }
        finally
        {
            if (Directory.Exists(stage)) Directory.Delete(stage, recursive: true);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        return new LoraExportResult(full, rank, results, overall, skipped);
    }

    private static void Save(string path, List<Factors> factors, int rank, string? baseModelHash, bool kohya)
    {
        var w = new SafetensorsWriter();
        foreach (var f in factors)
        {
            string module = LoraFormat.Module(f.Tensor);
            if (kohya)
            {
                string key = LoraFormat.KohyaModule(module);
                w.Add(key + LoraFormat.KohyaDown, f.Down, [f.Rank, f.In]);
                w.Add(key + LoraFormat.KohyaUp, f.Up, [f.Out, f.Rank]);
                // alpha = R makes kohya's scale alpha/R exactly 1: the file applies Δ as computed.
                w.Add(key + LoraFormat.KohyaAlpha, [f.Rank], []);
            }
            else
            {
                string key = LoraFormat.DiffusersModule(module);
                w.Add(key + LoraFormat.DiffusersDown, f.Down, [f.Rank, f.In]);
                w.Add(key + LoraFormat.DiffusersUp, f.Up, [f.Out, f.Rank]);
            }
        }
        w.Metadata[FormatKey] = kohya ? "kohya" : "diffusers";
        w.Metadata[RankKey] = rank.ToString(CultureInfo.InvariantCulture);
        if (kohya) w.Metadata["ss_network_dim"] = w.Metadata["ss_network_alpha"] = rank.ToString(CultureInfo.InvariantCulture);
        if (baseModelHash is not null) w.Metadata[BaseModelHashKey] = baseModelHash;
        w.Save(path);
    }

    private static JsonObject Json(int rank, string? baseModelHash, List<LoraTensorResult> results, double overall, List<string> skipped)
    {
        var tensors = new JsonArray();
        foreach (var r in results)
            // Add(JsonNode), not the generic Add<T>: that one reflects over T and breaks the trimmed publish (IL2026).
            tensors.Add((JsonNode)new JsonObject
            {
                ["tensor"] = r.Tensor,
                ["shape"] = new JsonArray(r.Out, r.In),
                ["rank"] = r.Rank,
                ["delta_norm"] = r.DeltaNorm,
                ["relative_error"] = r.RelativeError,
            });
        return new JsonObject
        {
            ["format"] = "doco-lora",
            ["rank"] = rank,
            ["base_model_hash"] = baseModelHash,
            ["files"] = new JsonArray(KohyaName, DiffusersName),
            ["overall_relative_error"] = overall,
            ["tensors"] = tensors,
            ["skipped"] = new JsonArray([.. skipped.Select(s => (JsonNode)JsonValue.Create(s)!)]),
        };
    }
}
