using System.Text.Json.Nodes;
using Engine.IO.Safetensors;
using Engine.Models.Clip;
using Engine.Models.Unet;

namespace Engine.Models.Loading;

/// <summary>
/// Saves a UNet and text encoder as a diffusers folder (sd-architecture.md §1.5) that <see cref="ModelFiles"/> and
/// diffusers both load. Atomic: everything is written into a temporary sibling folder, which is then renamed into place.
/// </summary>
public static class DiffusersFolder
{
    /// <summary>Components copied unchanged from the source folder when it has them.</summary>
    public static readonly IReadOnlyList<string> CopiedComponents = ["tokenizer", "scheduler", "vae"];

    /// <param name="folder">destination; an existing folder is replaced only once the new one is complete</param>
    /// <param name="sourceFolder">the diffusers folder the models came from: tokenizer/, scheduler/, vae/ and model_index.json are copied, and its config.json files keep their other keys</param>
    public static void Save(string folder, UNet2DConditionModel unet, ClipTextModel textEncoder, string? sourceFolder = null,
        SafetensorsDType storeAs = SafetensorsDType.F32)
    {
        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(tmp);
            string? Source(string rel) => sourceFolder is null ? null : Path.Combine(sourceFolder, rel);

            Directory.CreateDirectory(Path.Combine(tmp, "unet"));
            File.WriteAllText(Path.Combine(tmp, "unet", "config.json"), ConfigJson.UNet(unet.Config, Source("unet/config.json")));
            Weights(unet.Parameters, name => name, storeAs).Save(Path.Combine(tmp, "unet", "diffusion_pytorch_model.safetensors"));

            Directory.CreateDirectory(Path.Combine(tmp, "text_encoder"));
            File.WriteAllText(Path.Combine(tmp, "text_encoder", "config.json"), ConfigJson.TextEncoder(textEncoder.Config, Source("text_encoder/config.json")));
            Weights(textEncoder.Parameters, name => name, storeAs).Save(Path.Combine(tmp, "text_encoder", "model.safetensors"));

            var copied = new List<string>();
            foreach (var component in CopiedComponents)
            {
                if (Source(component) is not { } src || !Directory.Exists(src)) continue;
                CopyDirectory(src, Path.Combine(tmp, component));
                copied.Add(component);
            }
            File.WriteAllText(Path.Combine(tmp, "model_index.json"), ModelIndex(Source("model_index.json"), copied));

            if (Directory.Exists(full))
            {
                string old = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.old");
                Directory.Move(full, old);
                Directory.Move(tmp, full);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(tmp, full);
            }
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    private static SafetensorsWriter Weights(Engine.Nn.ParameterStore store, Func<string, string> name, SafetensorsDType storeAs)
    {
        var w = new SafetensorsWriter();
        foreach (var p in store.Layout.Parameters) w.Add(name(p.Name), store.Weight(p.Name), store.Memory, storeAs);
        return w;
    }

    /// <summary>The source's model_index.json when there is one (its tokenizer/scheduler/vae entries stay true), else a minimal one.</summary>
    private static string ModelIndex(string? sourcePath, List<string> copied)
    {
        JsonObject o = sourcePath is not null && File.Exists(sourcePath) && JsonNode.Parse(File.ReadAllText(sourcePath)) is JsonObject s
            ? s
            : new JsonObject { ["_class_name"] = "StableDiffusionPipeline", ["_diffusers_version"] = "0.31.0" };
        o["unet"] = new JsonArray("diffusers", "UNet2DConditionModel");
        o["text_encoder"] = new JsonArray("transformers", "CLIPTextModel");
        foreach (var c in CopiedComponents)
            if (!copied.Contains(c)) o.Remove(c);
        return o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
