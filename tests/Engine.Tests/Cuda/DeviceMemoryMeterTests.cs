using Engine.Cuda.Ops;
using Engine.Tensors;

namespace Engine.Tests.Cuda;

/// <summary>
/// The device memory count behind the report's "device memory peak": bytes as allocated (rounded up to 256), released
/// by Free, the peak kept; CudaOps passes it on as <see cref="Engine.Memory.IDeviceMemoryMeter"/>.
/// </summary>
public sealed class DeviceMemoryMeterTests
{
    [Fact]
    public void HostDeviceMemory_CountsBytesInUse_AndKeepsThePeak()
    {
        using var memory = new HostDeviceMemory();
        nint a = memory.Alloc(1000); // rounded to 1024
        nint b = memory.Alloc(256);
        Assert.Equal(1280, memory.BytesInUse);
        memory.Free(a);
        Assert.Equal(256, memory.BytesInUse);
        nint c = memory.Alloc(1);
        Assert.Equal(512, memory.BytesInUse);
        Assert.Equal(1280, memory.PeakBytes);
        memory.Free(b);
        memory.Free(c);
        Assert.Equal(0, memory.BytesInUse);
        Assert.Equal(1280, memory.PeakBytes);
        Assert.Throws<ArgumentException>(() => memory.Free(b));
    }

    [Fact]
    public void CudaOps_ReportsItsMemorysCount_IncludingItsArenas()
    {
        using var e = new EmulatedCuda();
        long before = e.Ops.DeviceBytesInUse;
        using (var arena = e.Ops.CreateArena())
        {
            arena.Alloc(new Shape(1 << 20)); // 4 MiB in one block of the arena
            Assert.True(e.Ops.DeviceBytesInUse >= before + (4L << 20), $"{e.Ops.DeviceBytesInUse} bytes in use");
        }
        Assert.Equal(before, e.Ops.DeviceBytesInUse);
        Assert.True(e.Ops.DevicePeakBytes >= before + (4L << 20));
    }
}
