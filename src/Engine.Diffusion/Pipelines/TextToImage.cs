using Engine.Diffusion.Schedulers;
using Engine.Memory;
using Engine.Models;
using Engine.Models.Clip;
using Engine.Models.Loading;
using Engine.Models.Text;
using Engine.Models.Unet;
using Engine.Models.Vae;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Diffusion.Pipelines;

/// <summary>
/// Sampling settings: DDIM steps, classifier-free guidance scale, eta, seed and image count. <paramref name="MaxBatch"/>
/// caps the images that go through the UNet together (a UNet batch of twice that with guidance); 0 runs all
/// <paramref name="Count"/> at once. It bounds the activations' memory; the images do not depend on it (on the CPU bit
/// for bit, ChunkedSampleTests), as the UNet, text encoder and VAE treat each sample of a batch on its own.
/// </summary>
public sealed record SampleSettings(int Steps = 25, float GuidanceScale = 7.5f, float Eta = 0f, ulong Seed = 0, int Count = 1, int MaxBatch = 0);

/// <summary>
/// StableDiffusionPipeline's text-to-image loop: encode [negative; prompt], start from N(0, 1) latents (Philox),
/// DDIM with classifier-free guidance ε̂ = ε_u + s·(ε_c − ε_u), then the VAE decoder (latents / scaling_factor),
/// or the final sample itself for a pixel-space model without a VAE. Output images are in [-1, 1].
/// </summary>
public sealed class TextToImage : IDisposable
{
    // The backend's memory: weights uploaded once, activations reused by every denoising step.
    private readonly ITensorArena _weights;
    private readonly ITensorArena _activations;
    private readonly ITensorArena _gradients;

    public ClipTokenizer Tokenizer { get; }
    public ClipTextModel TextEncoder { get; }
    public UNet2DConditionModel Unet { get; }
    public AutoencoderKLDecoder? Vae { get; }
    public SchedulerConfig SchedulerConfig { get; }
    public IOps Ops { get; }

    public TextToImage(string modelDir, IOps ops)
    {
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"model folder not found: {modelDir}");
        Ops = ops;
        (_weights, _activations, _gradients) = (ops.CreateArena(), ops.CreateArena(), ops.CreateArena());
        try
        {
            Tokenizer = ClipTokenizer.FromDirectory(Path.Combine(modelDir, "tokenizer"));
            TextEncoder = ModelFiles.LoadTextEncoder(Path.Combine(modelDir, "text_encoder"), _weights);
            Unet = ModelFiles.LoadUNet(Path.Combine(modelDir, "unet"), _weights);
            var vaeDir = Path.Combine(modelDir, "vae");
            Vae = Directory.Exists(vaeDir) ? ModelFiles.LoadVaeDecoder(vaeDir, _weights) : null;
            SchedulerConfig = SchedulerConfig.FromJson(Path.Combine(modelDir, "scheduler", "scheduler_config.json"));
        }
        catch
        {
            // A model that fails to load (callers report it and go on) must not keep the backend's memory.
            Dispose();
            throw;
        }
    }

    /// <summary>Token ids [n, L] for the given prompts, padded as the SD pipeline does.</summary>
    private Tensor Ids(IReadOnlyList<string> prompts, ITensorAllocator into)
    {
        int len = TextEncoder.Config.MaxPositionEmbeddings;
        return into.Upload(Tokenizer.EncodeBatch(prompts, len), new Shape(prompts.Count, len));
    }

    /// <summary>Runs the loop; <paramref name="progress"/> gets (steps done, total) after each DDIM step of each chunk. Returns [n, 3, H, W] floats.</summary>
    public float[] Sample(string prompt, string negative, SampleSettings s, Action<int, int>? progress = null)
        => Run(prompt, negative, s, progress, decode: true);

    /// <summary>
    /// The DDIM loop's final sample x0 before VAE decoding: [n, C, h, w] latents for a latent model
    /// (not divided by scaling_factor), the pixels themselves for a pixel-space model. DoCo's anchor images are these.
    /// </summary>
    public float[] SampleFinal(string prompt, string negative, SampleSettings s, Action<int, int>? progress = null)
        => Run(prompt, negative, s, progress, decode: false);

    /// <summary>Geometry of <see cref="SampleFinal"/>'s output: the UNet's sample.</summary>
    public (int Channels, int Height, int Width) FinalShape => (Unet.Config.OutChannels, Unet.Config.SampleSize, Unet.Config.SampleSize);

    /// <summary>
    /// The images in chunks of at most <see cref="SampleSettings.MaxBatch"/>, each drawing its own slice of the
    /// one-call layout: image j's starting noise is elements [j·numel, (j+1)·numel) of the seed's stream, and step i's
    /// eta noise for the whole batch starts at (i + 1)·Count·numel. So the result is the unchunked one, bit for bit,
    /// as long as the UNet's forward does not depend on what else is in its batch. <paramref name="progress"/> gets
    /// (denoising steps done, total) over all chunks.
    /// </summary>
    private float[] Run(string prompt, string negative, SampleSettings s, Action<int, int>? progress, bool decode)
    {
        if (s.Steps < 1 || s.Count < 1 || s.MaxBatch < 0) throw new ArgumentException("steps and count must be ≥ 1 and max batch ≥ 0");
        int batch = s.MaxBatch == 0 ? s.Count : Math.Min(s.MaxBatch, s.Count);
        int chunks = (s.Count + batch - 1) / batch;
        long imageNumel = LatentShape(1).Numel, stride = s.Count * imageNumel;
        float[]? result = null;
        for (int k = 0; k < chunks; k++)
        {
            int first = k * batch, n = Math.Min(batch, s.Count - first);
            using var scratch = Ops.CreateArena();
            var latents = scratch.Alloc(LatentShape(n));
            Ops.RandomNormal(latents, s.Seed, (ulong)(first * imageNumel));
            var noise = new StepNoise(s.Seed, stride, first * imageNumel);
            var images = Denoise(scratch, Enumerable.Repeat(prompt, n).ToList(), negative, latents, s.Steps, s.GuidanceScale, s.Eta, noise, decode,
                progress is null ? null : (done, steps) => progress(k * steps + done, chunks * steps));
            if (chunks == 1) return images;
            int outNumel = images.Length / n;
            result ??= new float[(long)s.Count * outNumel];
            images.CopyTo(result, (long)first * outNumel);
        }
        return result!;
    }

    /// <summary>Where step i's eta noise lies in the Philox stream of <paramref name="Seed"/>: from (i + 1)·Stride + Offset on.</summary>
    private readonly record struct StepNoise(ulong Seed, long Stride, long Offset)
    {
        public ulong At(int step) => (ulong)((step + 1) * Stride + Offset);
    }

    /// <summary>
    /// Many prompts at once: image i is prompt i from seed i, its starting noise the same as
    /// <see cref="Sample"/> with Count 1 and that seed gives, so results do not depend on how items are batched.
    /// Items run <paramref name="batch"/> at a time through one UNet batch of [uncond; cond] (classifier-free
    /// guidance, DDIM, eta 0). <paramref name="progress"/> gets (denoising steps done, total) over all batches.
    /// Returns [n, C, H, W] images in [-1, 1] (decoded through the VAE where the model has one).
    /// </summary>
    public float[] SampleMany(IReadOnlyList<string> prompts, IReadOnlyList<ulong> seeds, string negative, int steps, float guidanceScale,
        int batch = 64, Action<int, int>? progress = null)
    {
        if (prompts.Count != seeds.Count) throw new ArgumentException($"{prompts.Count} prompts but {seeds.Count} seeds");
        if (steps < 1 || batch < 1) throw new ArgumentException("steps and batch must be ≥ 1");
        var (c, h, w) = ImageShape;
        int imageNumel = c * h * w, n = prompts.Count;
        var result = new float[(long)n * imageNumel];
        int chunks = (n + batch - 1) / batch, total = chunks * steps;
        for (int k = 0; k < chunks; k++)
        {
            int start = k * batch, m = Math.Min(batch, n - start);
            var images = RunMany(prompts.Skip(start).Take(m).ToList(), seeds.Skip(start).Take(m).ToList(), negative, steps, guidanceScale,
                done => progress?.Invoke(k * steps + done, total));
            images.CopyTo(result.AsSpan(start * imageNumel));
        }
        return result;
    }

    private float[] RunMany(List<string> prompts, List<ulong> seeds, string negative, int steps, float guidanceScale, Action<int> progress)
    {
        using var scratch = Ops.CreateArena();
        var shape = LatentShape(prompts.Count);
        var latents = scratch.Alloc(shape);
        long one = shape.Numel / prompts.Count;
        for (int i = 0; i < prompts.Count; i++) Ops.RandomNormal(latents.Slice(i * one, shape[1], shape[2], shape[3]), seeds[i], 0);
        return Denoise(scratch, prompts, negative, latents, steps, guidanceScale, 0f, default, decode: true, (done, _) => progress(done));
    }

    private Shape LatentShape(int n) => new(n, Unet.Config.InChannels, Unet.Config.SampleSize, Unet.Config.SampleSize);

    /// <summary>
    /// The DDIM loop shared by <see cref="Sample"/> and <see cref="SampleMany"/>: image i of <paramref name="latents"/>
    /// (already holding its starting noise) is denoised under prompt i, with classifier-free guidance against
    /// <paramref name="negative"/> unless the scale is 1; with eta &gt; 0 the step noise comes from
    /// <paramref name="noise"/>. Returns the final latents, or the decoded images where the model has a VAE and
    /// <paramref name="decode"/> is set.
    /// </summary>
    private float[] Denoise(ITensorArena scratch, List<string> prompts, string negative, Tensor latents, int steps, float guidanceScale,
                            float eta, StepNoise noise, bool decode, Action<int, int>? progress)
    {
        var ops = Ops;
        int n = prompts.Count, numel = (int)latents.Numel;
        bool guided = guidanceScale != 1f;
        var texts = guided ? Enumerable.Repeat(negative, n).Concat(prompts).ToList() : prompts;
        var ids = Ids(texts, scratch);
        var textActs = TextEncoder.Activations(scratch, texts.Count, TextEncoder.Config.MaxPositionEmbeddings);
        var ehs = TextEncoder.Forward(ops, textActs, ids);

        var input = guided ? scratch.Alloc(LatentShape(2 * n)) : latents;
        var ddim = new DdimScheduler(SchedulerConfig);
        var timesteps = ddim.SetTimesteps(steps);
        var hostLatents = new float[numel];
        var hostEps = new float[numel];
        var hostOut = new float[guided ? 2 * numel : numel];
        var next = new float[numel];
        var stepNoise = eta > 0 ? scratch.Alloc(latents.Shape) : Tensor.None;
        var hostNoise = eta > 0 ? new float[numel] : [];
        var w = new Workspace(ops, _activations, _gradients);
        var tBatch = new float[guided ? 2 * n : n];
        ops.CopyToHost(hostLatents, latents);
        for (int i = 0; i < timesteps.Length; i++)
        {
            int t = timesteps[i];
            Array.Fill(tBatch, t);
            if (guided)
            {
                // The batch is [uncond; cond], both halves starting from the same latents.
                ops.Copy(input.Slice(0, numel), latents.View(numel));
                ops.Copy(input.Slice(numel, numel), latents.View(numel));
            }
            w.Reset();
            var eps = Unet.Forward(w, input, tBatch, ehs);
            ops.CopyToHost(hostOut, eps);
            if (guided)
                for (int j = 0; j < numel; j++) hostEps[j] = hostOut[j] + guidanceScale * (hostOut[numel + j] - hostOut[j]);
            else
                hostOut.CopyTo(hostEps, 0);
            if (eta > 0)
            {
                ops.RandomNormal(stepNoise, noise.Seed, noise.At(i));
                ops.CopyToHost(hostNoise, stepNoise);
            }
            ddim.Step(next, default, hostEps, t, hostLatents, eta, hostNoise);
            (hostLatents, next) = (next, hostLatents);
            ops.CopyFromHost(latents, hostLatents);
            progress?.Invoke(i + 1, timesteps.Length);
        }
        w.Reset();
        if (Vae is null || !decode) return hostLatents;
        ops.Scale(latents, latents, 1f / Vae.Config.ScalingFactor);
        var image = Vae.Decode(ops, _activations, latents);
        var result = new float[image.Numel];
        ops.CopyToHost(result, image);
        _activations.Reset();
        return result;
    }

    /// <summary>Image geometry of <see cref="Sample"/>'s output.</summary>
    public (int Channels, int Height, int Width) ImageShape
    {
        get
        {
            int size = Unet.Config.SampleSize;
            if (Vae is null) return (Unet.Config.OutChannels, size, size);
            int f = 1 << (Vae.Config.BlockOutChannels.Length - 1);
            return (Vae.Config.OutChannels, size * f, size * f);
        }
    }

    public void Dispose()
    {
        _weights.Dispose();
        _activations.Dispose();
        _gradients.Dispose();
    }
}
