using Engine.Cli.Commands;
using Engine.Models.Pipelines;

namespace Engine.Tests.Cli;

public class SampleCommandTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-sd");

    [Fact]
    public void Sample_WritesAPngGrid_AndIsDeterministicInTheSeed()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var a = Path.Combine(dir.FullName, "a.png");
            var b = Path.Combine(dir.FullName, "b.png");
            var c = Path.Combine(dir.FullName, "c.png");
            var settings = new SampleSettings(Steps: 2, GuidanceScale: 7.5f, Seed: 3, Count: 2);
            Assert.Equal(0, SampleCommand.Run(Fixture, "a cat", "", settings, a, "cpu", TextWriter.Null, TextWriter.Null));
            Assert.Equal(0, SampleCommand.Run(Fixture, "a cat", "", settings, b, "cpu", TextWriter.Null, TextWriter.Null));
            Assert.Equal(0, SampleCommand.Run(Fixture, "a cat", "", settings with { Seed = 4 }, c, "cpu", TextWriter.Null, TextWriter.Null));
            var bytes = File.ReadAllBytes(a);
            Assert.Equal(0x89, bytes[0]);
            Assert.Equal(bytes, File.ReadAllBytes(b));
            Assert.NotEqual(bytes, File.ReadAllBytes(c));
            Assert.Equal(3, Directory.GetFiles(dir.FullName).Length);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Sample_BadModelFolder_Exit2_AndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var err = new StringWriter();
            var path = Path.Combine(dir.FullName, "x.png");
            Assert.Equal(2, SampleCommand.Run(Path.Combine(dir.FullName, "missing"), "a cat", "", new SampleSettings(Steps: 1, Count: 1), path, "cpu", TextWriter.Null, err));
            Assert.Contains("missing", err.ToString(), StringComparison.Ordinal);
            Assert.False(File.Exists(path));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
