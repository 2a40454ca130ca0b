namespace Engine.Unlearning.Outputs;

/// <summary>
/// The two LoRA key layouts doco writes and reads, for a Linear module of the UNet (diffusers path, e.g.
/// <c>down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k</c>):
/// <list type="bullet">
/// <item>kohya (ComfyUI, AUTOMATIC1111): <c>lora_unet_&lt;path with . as _&gt;.lora_down.weight</c> [R, in],
/// <c>.lora_up.weight</c> [out, R], <c>.alpha</c> (scalar; the update is scaled by alpha/R);</item>
/// <item>diffusers/PEFT (<c>pipe.load_lora_weights</c>): <c>unet.&lt;path&gt;.lora_A.weight</c> [R, in] and
/// <c>unet.&lt;path&gt;.lora_B.weight</c> [out, R], no scale.</item>
/// </list>
/// In both the weight update is up·down (B·A), shaped like the module's [out, in] weight.
/// </summary>
public static class LoraFormat
{
    public const string KohyaPrefix = "lora_unet_", KohyaDown = ".lora_down.weight", KohyaUp = ".lora_up.weight", KohyaAlpha = ".alpha";
    public const string DiffusersPrefix = "unet.", DiffusersDown = ".lora_A.weight", DiffusersUp = ".lora_B.weight";

    /// <summary>The module of a weight: <c>….to_k.weight</c> → <c>….to_k</c>.</summary>
    public static string Module(string weightName) =>
        weightName.EndsWith(".weight", StringComparison.Ordinal) ? weightName[..^".weight".Length]
            : throw new ArgumentException($"'{weightName}' is not a weight (no .weight suffix)", nameof(weightName));

    /// <summary>kohya's module key: dots become underscores (so it can only be mapped back with the model's names).</summary>
    public static string KohyaModule(string module) => KohyaPrefix + module.Replace('.', '_');

    public static string DiffusersModule(string module) => DiffusersPrefix + module;
}
