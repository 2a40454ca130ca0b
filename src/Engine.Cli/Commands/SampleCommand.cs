using System.CommandLine;
using Engine.Diffusion.Pipelines;
using Engine.IO.Images;
using Engine.IO.Safetensors;
using Engine.Unlearning.Outputs;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>doco sample --model &lt;dir&gt; --prompt "..." [--negative ...] [--steps 25] [--cfg 7.5] [--seed N] [--n 4] [--batch 4] --out grid.png</c>:
/// DDIM with classifier-free guidance, VAE-decoded for latent models, written as one PNG grid. The images go through the
/// UNet --batch at a time, which bounds the memory and does not change them.
/// <c>--lora FILE [--lora-scale s]</c> adds a LoRA (kohya or diffusers layout, <see cref="LoraFile"/>) to the UNet first.
/// </summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a diffusers model folder", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "the text prompt", Required = true };
        var negative = new Option<string>("--negative") { Description = "negative prompt (the unconditional branch)", DefaultValueFactory = _ => "" };
        var steps = new Option<int>("--steps") { Description = "DDIM steps", DefaultValueFactory = _ => 25 };
        var cfg = new Option<float>("--cfg") { Description = "classifier-free guidance scale (1 disables it)", DefaultValueFactory = _ => 7.5f };
        var eta = new Option<float>("--eta") { Description = "DDIM eta (0: deterministic)", DefaultValueFactory = _ => 0f };
        var seed = new Option<ulong>("--seed") { Description = "noise seed (Philox)", DefaultValueFactory = _ => 0UL };
        var n = new Option<int>("--n") { Description = "number of images", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "images per UNet call (UNet batch 2N with guidance); lower it when sampling runs out of memory; the images do not depend on it", DefaultValueFactory = _ => 4 };
        var output = new Option<string>("--out") { Description = "PNG grid to write", DefaultValueFactory = _ => "grid.png" };
        var backend = new Option<string>("--backend") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        var lora = new Option<string?>("--lora") { Description = "a LoRA file (kohya or diffusers layout) to add to the UNet before sampling" };
        var loraScale = new Option<float>("--lora-scale") { Description = "the LoRA's strength (1: as trained)", DefaultValueFactory = _ => 1f };
        Options Bind(ParseResult parse) => new(parse.GetValue(model)!, parse.GetValue(prompt)!, parse.GetValue(negative)!,
            new SampleSettings(parse.GetValue(steps), parse.GetValue(cfg), parse.GetValue(eta), parse.GetValue(seed), parse.GetValue(n), parse.GetValue(batch)),
            parse.GetValue(output)!, parse.GetValue(backend)!, parse.GetValue(lora), parse.GetValue(loraScale));
        return new BoundCommand<Options>("sample", "Generate images from a prompt and write them as a PNG grid.", Bind, Run)
            { model, prompt, negative, steps, cfg, eta, seed, n, batch, output, backend, lora, loraScale };
    }

    public sealed record Options(string Model, string Prompt, string Negative, SampleSettings Settings, string Out, string Backend,
        string? Lora = null, float LoraScale = 1f);

    public static int Run(Options o, TextWriter output, TextWriter error)
    {
        var (modelDir, prompt, negative, settings, outPath, backend, lora, loraScale) = o;
        if (settings.Steps < 1 || settings.Count < 1)
        {
            error.WriteLine("sample: --steps and --n must be ≥ 1");
            return 2;
        }
        if (settings.MaxBatch < 1)
        {
            error.WriteLine($"sample: --batch must be ≥ 1 (got {settings.MaxBatch})");
            return 2;
        }
        if (lora is not null && !File.Exists(lora))
        {
            error.WriteLine($"sample: --lora: no such file: {lora}");
            return 2;
        }
        if (!float.IsFinite(loraScale))
        {
            error.WriteLine($"sample: --lora-scale must be a finite number (got {loraScale})");
            return 2;
        }
        var ops = Backends.Select(backend, error);
        if (ops is null) return 2;
        TextToImage pipeline;
        try
        {
            pipeline = new TextToImage(modelDir, ops);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"sample: cannot load {modelDir}: {e.Message}");
            return 2;
        }
        using (pipeline)
        {
            if (lora is not null)
            {
                try
                {
                    var changed = LoraFile.Apply(pipeline.Unet, lora, loraScale);
                    output.WriteLine($"applied {lora} × {loraScale} to {changed.Count} UNet weights");
                }
                catch (Exception e) when (e is IOException or InvalidDataException or SafetensorsException)
                {
                    // One line: LoraFile lists every bad key, here joined so the error stays a single line.
                    error.WriteLine($"sample: --lora: {e.Message.ReplaceLineEndings(" ")}");
                    return 2;
                }
            }
            var bar = new ProgressBar("sampling", error);
            var images = pipeline.Sample(prompt, negative, settings, (i, total) => bar.Report(i, total));
            var (c, h, w) = pipeline.ImageShape;
            var (rgb, width, height) = ImageGrid.Compose(images, settings.Count, c, h, w);
            Png.Save(outPath, rgb, width, height);
            output.WriteLine($"wrote {outPath} ({settings.Count} images of {w}×{h}, grid {width}×{height})");
            return 0;
        }
    }
}
