using System.Runtime.InteropServices;
using Engine.Cli.Commands;
using Engine.Cli.Selftest;
using Engine.Cuda;
using Engine.Tests.Cli;
using Xunit.Abstractions;

namespace Engine.Tests.Cuda;

/// <summary>
/// <c>doco selftest</c> without a GPU: the no-GPU exit, the op table's coverage of every kernel entry point, and the
/// whole table run through the CPU emulator (so the self-test itself is checked before it ever meets a GPU).
/// </summary>
public class SelftestTests(ITestOutputHelper log)
{
    [SkippableFact]
    public void WithoutGpu_PrintsTheReason_Exit2()
    {
        using (var ctx = CudaContext.TryCreate(out _))
            Skip.If(ctx is not null, "a CUDA GPU is present");
        using var probe = CudaContext.TryCreate(out string reason);
        var (exit, output, error) = Doco.Run("selftest", "--backend", "cuda");
        Assert.Equal(2, exit);
        Assert.Equal(reason + Environment.NewLine, error);
        Assert.StartsWith("no usable CUDA GPU: ", reason);
        Assert.Empty(output);
    }

    [Fact]
    public void NonCudaBackend_Exit2()
    {
        var (exit, _, error) = Doco.Run("selftest", "--backend", "cpu");
        Assert.Equal(2, exit);
        Assert.Contains("--backend must be cuda", error);
    }

    [Fact]
    public void OpTable_CoversEveryKernelEntryPoint()
    {
        var entries = KernelSources.All.SelectMany(s => s.Entries).ToHashSet();
        var tested = SelftestOps.All.SelectMany(op => op.Kernels).ToHashSet();
        Assert.Empty(entries.Except(tested).Order()); // a kernel without a selftest entry
        Assert.Empty(tested.Except(entries).Order()); // a selftest naming a kernel that does not exist
        Assert.Equal(SelftestOps.All.Count, SelftestOps.All.Select(op => op.Name).Distinct().Count());
        Assert.Contains(SelftestOps.All, op => op.NeedsCublas);
    }

    [Fact]
    public void Compare_CountsOutOfToleranceAndNaN()
    {
        var (maxAbs, maxRel, bad, worst) = SelftestCommand.Compare([1f, 2f, float.NaN, 4f], [1f, 2.5f, 3f, 4f], rtol: 0, atol: 0.1);
        Assert.Equal(2, bad);
        Assert.Equal(2, worst);
        Assert.Equal(double.PositiveInfinity, maxAbs);
        Assert.Equal(double.PositiveInfinity, maxRel);
        Assert.Equal(0, SelftestCommand.Compare([float.NaN, 1f], [float.NaN, 1f], 0, 0).Bad);
    }

    [SkippableFact]
    public void EveryOp_PassesInTheEmulator()
    {
        Skip.If(KernelEmulator.Unavailable is not null, KernelEmulator.Unavailable);
        using var device = new EmulatedDevice();
        var output = new StringWriter();
        int code = SelftestCommand.RunAll(device, null, output);
        string text = output.ToString();
        log.WriteLine(text);
        Assert.True(code == 0, text);
        foreach (var op in SelftestOps.All)
            Assert.Matches($@"(?m)^{op.Name}\s.*(PASS|SKIP)", text);
        Assert.DoesNotContain("FAIL", text);
    }

    /// <summary>"Device" memory is zeroed host memory; the emulator runs the kernels on it.</summary>
    private sealed unsafe class EmulatedDevice : ISelftestDevice, IDisposable
    {
        private readonly List<nint> _blocks = [];

        public IKernelRunner Runner => KernelEmulator.Instance;

        public CudaContext? Cuda => null;

        public nint Alloc(long bytes)
        {
            nint p = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
            NativeMemory.Clear((void*)p, (nuint)Math.Max(bytes, 1));
            _blocks.Add(p);
            return p;
        }

        public void Upload(nint dst, ReadOnlySpan<byte> src) => src.CopyTo(new Span<byte>((void*)dst, src.Length));

        public void Download(Span<byte> dst, nint src) => new ReadOnlySpan<byte>((void*)src, dst.Length).CopyTo(dst);

        public void Synchronize()
        {
        }

        public void Dispose()
        {
            foreach (nint p in _blocks) NativeMemory.AlignedFree((void*)p);
            _blocks.Clear();
        }
    }
}
