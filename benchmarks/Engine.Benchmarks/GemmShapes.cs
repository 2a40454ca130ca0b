namespace Engine.Benchmarks;

/// <summary>The SGEMM shapes of the task brief (row-major, no transposes): M × N × K.</summary>
public static class GemmShapes
{
    public static readonly string[] All = ["4096x320x2880", "1024x640x5760", "4096x320x320", "4096x4096x40", "1024x1024x1024"];

    public static (int M, int N, int K) Parse(string s)
    {
        var p = s.Split('x');
        return (int.Parse(p[0]), int.Parse(p[1]), int.Parse(p[2]));
    }

    public static double Flops(string s)
    {
        var (m, n, k) = Parse(s);
        return 2.0 * m * n * k;
    }
}
