using Engine.Cuda;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>doco selftest</c>'s options through the shipped parser. The op table itself, the no-GPU exit and --backend
/// are covered in Cuda/SelftestTests.cs.
/// </summary>
public class SelftestCommandTests
{
    [Fact]
    public void FilterMatchingNoOp_Exit2_EvenWithoutAGpu()
    {
        var (exit, output, err) = Doco.Run("selftest", "--filter", "GroupNorm");
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Equal("selftest: --filter 'GroupNorm' matches no op (op names are case-sensitive, e.g. 'add')", err.TrimEnd());
    }

    [SkippableFact]
    public void Filter_RunsOnlyTheOpsItNames()
    {
        using (var ctx = CudaContext.TryCreate(out string reason))
            Skip.If(ctx is null, reason);
        var (exit, output, err) = Doco.Run("selftest", "--filter", "groupnorm");
        Assert.True(exit == 0, output + err);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[2..^1]; // GPU line and header; the summary
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Contains("groupnorm", r.Split(' ')[0], StringComparison.Ordinal));
    }
}
