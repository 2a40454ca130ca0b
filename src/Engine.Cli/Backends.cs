using Engine.Cpu;
using Engine.Cuda;
using Engine.Ops;

namespace Engine.Cli;

/// <summary>
/// Picks the op backend for a verb's <c>--backend auto|cpu|cuda</c>. Without a usable GPU, auto says so in one line
/// and uses the CPU; cuda fails with that same line. (The CUDA ops themselves, CudaOps, are not written yet: with a
/// GPU present, auto still uses the CPU and says why.)
/// </summary>
internal static class Backends
{
    /// <summary>The backend, or null after writing the one-line reason to <paramref name="error"/> (exit 2).</summary>
    public static IOps? Select(string backend, TextWriter error)
    {
        switch (backend)
        {
            case "cpu":
                return new CpuOps();
            case "auto":
            case "cuda":
                using (var ctx = CudaContext.TryCreate(out string reason))
                {
                    if (ctx is not null) reason = $"{ctx.Name} found, but the CUDA ops are not implemented yet";
                    if (backend == "cuda")
                    {
                        error.WriteLine(reason);
                        return null;
                    }
                    error.WriteLine(reason + "; using the CPU backend");
                    return new CpuOps();
                }
            default:
                error.WriteLine($"unknown backend '{backend}' (auto, cpu or cuda)");
                return null;
        }
    }
}
