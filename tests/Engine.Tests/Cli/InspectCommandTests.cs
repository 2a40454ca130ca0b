using Engine.Cli;
using Engine.Tests.IO;

namespace Engine.Tests.Cli;

/// <summary><c>doco inspect</c> run in-process through System.CommandLine with captured output.</summary>
public class InspectCommandTests
{
    private static (int Code, string Out, string Err) Inspect(string path) => Doco.Run("inspect", path);

    [Fact]
    public void UnetFile_ListsEveryTensor_WithTotalsAndMetadata()
    {
        var (code, output, err) = Inspect(SafetensorsTestFiles.UnetFile);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.Split('\n');
        var row = Assert.Single(lines, l => l.TrimStart().StartsWith("conv_in.weight ", StringComparison.Ordinal));
        Assert.Matches(@"conv_in\.weight\s+F32\s+\[32, 4, 3, 3\]\s+4,608$", row.TrimEnd());
        Assert.Contains("total: 304 tensors, 1,427,012 parameters, 5,708,048 bytes (F32: 5,708,048)", output);
        Assert.Contains("format = pt", output);
        // Aligned: every tensor row puts the dtype in the same column.
        var rows = lines.Where(l => l.Contains(" F32 ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(304, rows.Length);
        Assert.Single(rows.Select(l => l.IndexOf(" F32 ", StringComparison.Ordinal)).Distinct());
    }

    [Fact]
    public void ModelFolder_GroupsByFile_WithGrandTotal()
    {
        var (code, output, err) = Inspect(SafetensorsTestFiles.TinySd());
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains("diffusers model folder, 4 safetensors files", output);
        int te = output.IndexOf("text_encoder/model.safetensors", StringComparison.Ordinal);
        int unet = output.IndexOf("unet/diffusion_pytorch_model.safetensors", StringComparison.Ordinal);
        int vae = output.IndexOf("vae/diffusion_pytorch_model.safetensors", StringComparison.Ordinal);
        Assert.True(te > 0 && unet > te && vae > unet);
        Assert.Contains("grand total: 4 files, ", output);
        Assert.Contains("I64: ", output); // cases.safetensors holds ids
    }

    [Fact]
    public void CorruptFile_Exit2_MessageNamesTheFile()
    {
        using var dir = new TempDir();
        string bad = dir.File("broken.safetensors");
        byte[] file = File.ReadAllBytes(SafetensorsTestFiles.TinySd("text_encoder", "model.safetensors"));
        File.WriteAllBytes(bad, file[..(file.Length / 2)]);
        var (code, output, err) = Inspect(bad);
        Assert.Equal(2, code);
        Assert.Contains(bad, err);
        Assert.Contains("past the end", err);
        Assert.DoesNotContain("total", output);
    }

    [Fact]
    public void FolderWithOneBrokenFile_ListsTheOthers_Exit2()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("unet"));
        File.Copy(SafetensorsTestFiles.UnetFile, dir.File("unet/diffusion_pytorch_model.safetensors"));
        File.WriteAllBytes(dir.File("bad.safetensors"), [1, 2, 3]);
        var (code, output, err) = Inspect(dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("bad.safetensors", err);
        Assert.Contains("grand total: 1 file, 304 tensors", output);
    }

    [Fact]
    public void MissingPath_Exit2()
    {
        var (code, _, err) = Inspect("/no/such/model.safetensors");
        Assert.Equal(2, code);
        Assert.Contains("no such file or folder: /no/such/model.safetensors", err);
    }

    [Fact]
    public void EmptyFolder_Exit2()
    {
        using var dir = new TempDir();
        var (code, _, err) = Inspect(dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("no .safetensors files", err);
    }

    [Fact]
    public void ProgramMain_ReturnsTheExitCode()
    {
        // Through the real entry point (console output is not captured here: only the exit code is checked).
        Assert.Equal(2, Program.Main(["inspect", "/no/such/folder"]));
    }
}
