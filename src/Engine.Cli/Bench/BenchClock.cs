using System.Diagnostics;
using Engine.Cuda;

namespace Engine.Cli.Bench;

/// <summary>Times <c>reps</c> back-to-back runs of a body and returns seconds per run.</summary>
internal interface IBenchClock
{
    double SecondsPerRun(Action body, int reps);
}

/// <summary>
/// Wall time between two synchronizations: the CPU backend, and CudaOps on the kernel emulator. On a GPU it would
/// also count launch latency the device hides, hence <see cref="EventClock"/> there.
/// </summary>
internal sealed class WallClock(Action synchronize) : IBenchClock
{
    public double SecondsPerRun(Action body, int reps)
    {
        synchronize();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) body();
        synchronize();
        return clock.Elapsed.TotalSeconds / reps;
    }
}

/// <summary>Device time between two CUDA events recorded on the context's stream around the runs.</summary>
internal sealed class EventClock(CudaContext context) : IBenchClock, IDisposable
{
    private readonly CudaEvent _start = new(), _stop = new();

    public double SecondsPerRun(Action body, int reps)
    {
        _start.Record(context.Stream);
        for (int i = 0; i < reps; i++) body();
        _stop.Record(context.Stream);
        return _stop.ElapsedMs(_start) / 1e3 / reps;
    }

    public void Dispose()
    {
        _start.Dispose();
        _stop.Dispose();
    }
}
