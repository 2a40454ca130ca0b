using Engine.Cpu;
using Engine.Cuda;
using Engine.Cuda.Ops;
using Engine.Ops;

namespace Engine.Cli;

/// <summary>
/// Picks the op backend for a verb's <c>--backend auto|cpu|cuda</c>. With a usable GPU, auto and cuda give
/// <see cref="CudaOps"/> (which owns its context and cuBLAS handle); without one, auto says why in one line and uses
/// the CPU, and cuda fails with that same line. Memory comes from the chosen backend (<see cref="IOps.CreateArena"/>).
/// </summary>
internal static class Backends
{
    private static readonly AsyncLocal<Func<IOps>?> TestCuda = new();

    /// <summary>
    /// Test-only: when set, "cuda" and "auto" get this backend instead of a GPU (the tests hand in CudaOps over the
    /// kernel emulator, so a whole verb runs through the CUDA backend's code on a machine without one). Async-local,
    /// so it reaches only the test that sets it, not the tests running beside it.
    /// </summary>
    internal static Func<IOps>? CudaForTests
    {
        get => TestCuda.Value;
        set => TestCuda.Value = value;
    }

    /// <summary>The backend, or null after writing the one-line reason to <paramref name="error"/> (exit 2).</summary>
    public static IOps? Select(string backend, TextWriter error)
    {
        switch (backend)
        {
            case "cpu":
                return new CpuOps();
            case "auto":
            case "cuda":
                if (CudaForTests is { } make) return make();
                var ctx = CudaContext.TryCreate(out string reason);
                if (ctx is not null)
                {
                    try
                    {
                        return CudaOps.Create(ctx, tf32: false, ownsContext: true);
                    }
                    catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
                    {
                        ctx.Dispose();
                        reason = $"{ctx.Name} found, but CUDA ops could not start: {e.Message.ReplaceLineEndings(" ")}";
                    }
                }
                if (backend == "cuda")
                {
                    error.WriteLine(reason);
                    return null;
                }
                error.WriteLine(reason + "; using the CPU backend");
                return new CpuOps();
            default:
                error.WriteLine($"unknown backend '{backend}' (auto, cpu or cuda)");
                return null;
        }
    }
}
