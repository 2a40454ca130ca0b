using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--summary")
        {
            Quick.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "--machine-noise")
        {
            MachineNoise.Run();
            return;
        }
        if (args.Length > 0 && args[0] is "--sgemm-study" or "--sgemm-side")
        {
            SgemmStudy.Run(args);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
