using Engine.IO.Safetensors;
using Engine.Memory;
using Engine.Models.Clip;
using Engine.Models.Unet;
using Engine.Models.Vae;

namespace Engine.Models.Loading;

/// <summary>Loading the components of a diffusers folder (model_index.json, unet/, text_encoder/, ...).</summary>
public static class ModelFiles
{
    /// <summary>The single *.safetensors weight file of a component folder.</summary>
    public static string WeightFile(string componentDir)
    {
        if (!Directory.Exists(componentDir)) throw new DirectoryNotFoundException($"model component folder not found: {componentDir}");
        var files = Directory.GetFiles(componentDir, "*.safetensors");
        return files.Length switch
        {
            1 => files[0],
            0 => throw new FileNotFoundException($"no .safetensors weights in {componentDir}"),
            _ => throw new InvalidDataException($"several .safetensors files in {componentDir}: {string.Join(", ", files.Select(Path.GetFileName))}"),
        };
    }

    public static UNet2DConditionModel LoadUNet(string unetDir, ITensorAllocator allocator, Func<string, bool>? isTrainable = null)
    {
        var config = UNetConfig.FromJson(Path.Combine(unetDir, "config.json"));
        var model = new UNet2DConditionModel(config, allocator, isTrainable);
        using var file = SafetensorsReader.Open(WeightFile(unetDir));
        WeightLoader.Load(model.Parameters, [file], name => name, "unet");
        return model;
    }

    public static ClipTextModel LoadTextEncoder(string textEncoderDir, ITensorAllocator allocator, Func<string, bool>? isTrainable = null)
    {
        var config = ClipTextConfig.FromJson(Path.Combine(textEncoderDir, "config.json"));
        var model = new ClipTextModel(config, allocator, isTrainable);
        using var file = SafetensorsReader.Open(WeightFile(textEncoderDir));
        WeightLoader.Load(model.Parameters, [file], ClipName, "text_encoder");
        return model;
    }

    /// <summary>
    /// The VAE decoder and post_quant_conv of a vae/ folder; the encoder and quant_conv tensors in the same
    /// file are skipped (<see cref="AutoencoderKLDecoder.ParameterName"/>). The weights are frozen.
    /// </summary>
    public static AutoencoderKLDecoder LoadVaeDecoder(string vaeDir, ITensorAllocator allocator)
    {
        var config = VaeConfig.FromJson(Path.Combine(vaeDir, "config.json"));
        var model = new AutoencoderKLDecoder(config, allocator);
        using var file = SafetensorsReader.Open(WeightFile(vaeDir));
        WeightLoader.Load(model.Parameters, [file], key => AutoencoderKLDecoder.ParameterName(key, config), "vae");
        return model;
    }

    /// <summary>
    /// Text-encoder keys with or without the text_model. prefix (transformers ≥ 5.6 flattened it);
    /// position_ids is a buffer, recomputed as 0..L-1, and skipped.
    /// </summary>
    public static string? ClipName(string key)
    {
        var name = key.StartsWith(ClipTextModel.Prefix, StringComparison.Ordinal) ? key : ClipTextModel.Prefix + key;
        return name == ClipTextModel.Prefix + "embeddings.position_ids" ? null : name;
    }
}
