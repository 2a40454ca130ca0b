using Engine.Cpu;
using Engine.Cuda;
using Engine.Cuda.Ops;
using Engine.Ops;

namespace Engine.Cli;

/// <summary>
/// Picks the op backend for a verb's <c>--backend auto|cpu|cuda</c>. With a usable GPU, auto and cuda give
/// <see cref="CudaOps"/> (which owns its context and cuBLAS handle); without one, auto says why in one line and uses
/// the CPU, and cuda fails with that same line.
/// </summary>
internal static class Backends
{
    /// <summary>The backend, or null after writing the one-line reason to <paramref name="error"/> (exit 2).</summary>
    /// <param name="hostMemoryOnly">
    /// the verb's pipeline still keeps its tensors in host memory (verify, sample): a GPU present is not used; auto says
    /// so and uses the CPU, cuda fails with that line
    /// </param>
    public static IOps? Select(string backend, TextWriter error, bool hostMemoryOnly = false)
    {
        switch (backend)
        {
            case "cpu":
                return new CpuOps();
            case "auto":
            case "cuda":
                var ctx = CudaContext.TryCreate(out string reason);
                if (ctx is not null && hostMemoryOnly)
                {
                    reason = $"{ctx.Name} found, but this command's pipeline keeps its tensors in host memory and does not run on CudaOps yet";
                    ctx.Dispose();
                }
                else if (ctx is not null)
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

    /// <summary>An arena on the backend's device: host memory for the CPU, device memory for CudaOps.</summary>
    public static Engine.Memory.ITensorArena Arena(IOps ops, long blockSize = 64L << 20) =>
        ops is CudaOps cuda ? new DeviceArena(cuda.Memory, blockSize) : new Engine.Memory.NativeArena(blockSize);
}
