using Engine.Memory;
using Engine.Ops;
using Engine.Tensors;

namespace Engine.Cuda.Ops;

/// <summary>
/// The CUDA backend: every <see cref="IOps"/> op as launches of the typed kernel launchers (kernels/*.cu) and GEMMs
/// (cuBLAS), over three small abstractions so the same code runs without a GPU:
/// <list type="bullet">
/// <item><see cref="IKernelRunner"/>: <see cref="CudaContext"/> on a GPU, the g++-compiled kernel emulator in the tests;</item>
/// <item><see cref="IGemmEngine"/>: cuBLAS (column-major, cublasGemmStridedBatchedEx) on a GPU, an emulated engine in the tests;</item>
/// <item><see cref="IDeviceMemory"/>: device memory on a GPU, host memory standing in for it in the tests.</item>
/// </list>
/// Tensors are Device.Cuda (see <see cref="DeviceArena"/>). Everything is queued on one stream; only
/// <see cref="CopyToHost"/>, the embedding's id check and scratch growth wait for the device. The double scratch of the
/// deterministic reductions, the conv column matrix and the uploaded chunk tables are grown once and kept, so a
/// training step allocates nothing after the first; ops on one CudaOps must therefore not run concurrently.
/// Families are split over the partial files beside this one, as in CpuOps.
/// </summary>
public sealed partial class CudaOps : IOps, IDeviceMemoryMeter, IDisposable
{
    private readonly IKernelRunner _k;
    private readonly IGemmEngine _gemm;
    private readonly IDeviceMemory _memory;
    private readonly IDisposable? _owned;
    private readonly nint[] _scratch = new nint[(int)Slot.Count];
    private readonly long[] _scratchBytes = new long[(int)Slot.Count];
    private bool _disposed;

    /// <param name="owned">disposed with this backend (e.g. the cuBLAS handle and the context on a GPU)</param>
    public CudaOps(IKernelRunner runner, IGemmEngine gemm, IDeviceMemory memory, string name, IDisposable? owned = null)
    {
        _k = runner;
        _gemm = gemm;
        _memory = memory;
        _owned = owned;
        Name = name;
    }

    /// <summary>CudaOps on a GPU: kernels through the context, cuBLAS on its stream, its device memory.</summary>
    public static CudaOps Create(CudaContext context, bool tf32 = false, bool ownsContext = false)
    {
        var cublas = new CublasGemmEngine(new CublasHandle(context, tf32));
        IDisposable owned = ownsContext ? new Owned(cublas, context) : cublas;
        return new CudaOps(context, cublas, new CudaDeviceMemory(context), context.Name + (tf32 ? ", TF32 GEMM" : ""), owned);
    }

    public Device Device => Device.Cuda;

    public string Name { get; }

    public IKernelRunner Runner => _k;

    public IDeviceMemory Memory => _memory;

    public long DeviceBytesInUse => _memory.BytesInUse;

    public long DevicePeakBytes => _memory.PeakBytes;

    /// <summary>Most column-matrix floats conv2d unfolds at once (default 64 Mi floats, 256 MiB); settable so tests can force bands.</summary>
    public long MaxColumnFloats { get; set; } = 64L << 20;

    /// <summary>Waits for every queued op.</summary>
    public void Synchronize() => _memory.Synchronize();

    private enum Slot { Norm, Loss, AttentionDelta, Columns, ReducePartial, SurgeryPartial, SurgeryCoef, Ids, Count }

    /// <summary>Scratch device memory for one purpose, grown (never shrunk) to at least <paramref name="bytes"/>.</summary>
    private nint Scratch(Slot slot, long bytes)
    {
        int i = (int)slot;
        if (_scratchBytes[i] < bytes)
        {
            if (_scratch[i] != 0)
            {
                _memory.Synchronize(); // the old buffer may still be read by queued work
                _memory.Free(_scratch[i]);
            }
            long size = Math.Max(bytes, 4096);
            _scratch[i] = _memory.Alloc(size);
            _scratchBytes[i] = size;
        }
        return _scratch[i];
    }

    /// <summary>The device address of an f32 tensor on this device; throws naming the tensor otherwise.</summary>
    private static nint F(Tensor t, string name)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None");
        if (t.DType != DType.F32 || t.Device != Device.Cuda)
            throw new ArgumentException($"{name} must be an f32 CUDA tensor, got {t}");
        return t.Ptr;
    }

    /// <summary>As <see cref="F"/>, but None gives 0 (the kernels' "not needed").</summary>
    private static nint Opt(Tensor t, string name) => t.IsNone ? 0 : F(t, name);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _memory.Synchronize();
        for (int i = 0; i < _scratch.Length; i++)
            if (_scratch[i] != 0) _memory.Free(_scratch[i]);
        foreach (var chunks in _segmentChunks.Values) chunks.Free(_memory);
        foreach (var chunks in _wholeChunks.Values) chunks.Free(_memory);
        _owned?.Dispose();
    }

    private sealed class Owned(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }
}
