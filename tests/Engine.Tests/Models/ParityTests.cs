using Engine.Cpu;
using Engine.Diffusion.Verification;
using Engine.IO.Safetensors;
using Xunit.Abstractions;

namespace Engine.Tests.Models;

/// <summary>Our models against diffusers/transformers on the tiny-sd fixture (see its README).</summary>
public class ParityTests(ITestOutputHelper output)
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    private void AssertAll(IEnumerable<ParityResult> results)
    {
        var list = results.ToList();
        Assert.NotEmpty(list);
        foreach (var r in list.OrderByDescending(r => r.Error / r.Tolerance).Take(5))
            output.WriteLine($"{r.Name}: {r.Error:E2} (tol {r.Tolerance:E0}{(r.Absolute ? ", absolute" : "")})");
        var failed = list.Where(r => !r.Pass).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed.Select(r => $"{r.Name}: error {r.Error:E3} > {r.Tolerance:E0}")));
    }

    [Fact]
    public void TextEncoder_ForwardAndEveryParameterGradient()
    {
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        var results = new FixtureVerifier(Fixture, new CpuOps()).TextEncoder(cases).ToList();
        Assert.Equal(1 + 84, results.Count);
        AssertAll(results);
    }

    [Fact]
    public void UNet_ForwardAndInputAndEveryParameterGradient()
    {
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        var results = new FixtureVerifier(Fixture, new CpuOps()).UNet(cases).ToList();
        Assert.Equal(3 + 304, results.Count);
        AssertAll(results);
    }

    [Fact]
    public void Vae_DecoderOutput()
    {
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        var results = new FixtureVerifier(Fixture, new CpuOps()).Vae(cases).ToList();
        Assert.Equal(["vae.decoded"], results.Select(r => r.Name));
        AssertAll(results);
    }

    [Fact]
    public void Schedulers_EveryOutputAndTimestepList()
    {
        using var cases = SafetensorsReader.Open(Path.Combine(Fixture, "cases.safetensors"));
        var results = new FixtureVerifier(Fixture, new CpuOps()).Schedulers(cases).ToList();
        // alphas_cumprod, 2 timestep lists, DDIM a/b/c (prev, x0) + eta1 (prev), add_noise, DDPM a/b (variance, prev, x0).
        Assert.Equal(1 + 2 + 3 * 2 + 1 + 1 + 2 * 3, results.Count);
        AssertAll(results);
        // Elementwise float32 in diffusers' operation order, with torch 1.13's linspace and cumprod reproduced
        // (NoiseSchedule.Linspace): every output, not only the integer timestep lists, is bit-exact.
        Assert.All(results, r => Assert.True(r.Error == 0, $"{r.Name}: {r.Error:E3}"));
    }

    [Fact]
    public void Verifier_ReportsNothingMissingOnTheFixture_AndNamesWhatAnEmptyFolderLacks()
    {
        Assert.Empty(new FixtureVerifier(Fixture, new CpuOps()).Missing());
        string dir = Directory.CreateTempSubdirectory("fixture-empty-").FullName;
        try
        {
            var missing = new FixtureVerifier(dir, new CpuOps()).Missing();
            Assert.Contains("cases.safetensors", missing);
            Assert.Contains("vae/config.json", missing);
            Assert.Contains("scheduler/scheduler_config.json", missing);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
