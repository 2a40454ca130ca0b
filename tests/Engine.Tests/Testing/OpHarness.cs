using Engine.Cpu;
using Engine.Memory;
using Engine.Tensors;

namespace Engine.Tests.Testing;

/// <summary>An arena and a CPU backend for one test, plus helpers to move arrays in and out of tensors.</summary>
public sealed class OpHarness : IDisposable
{
    public NativeArena Arena { get; } = new(1 << 20);

    public CpuOps Ops { get; }

    public OpHarness(int threads = 0) => Ops = new CpuOps(threads);

    public Tensor Tensor(float[] data, params int[] dims)
    {
        var t = Arena.Alloc(new Shape(dims));
        if (t.Numel != data.Length) throw new ArgumentException($"{data.Length} values for shape {t.Shape}");
        data.CopyTo(t.AsSpan());
        return t;
    }

    public Tensor Tensor(double[] data, params int[] dims) => Tensor(ToFloat(data), dims);

    public Tensor Zeros(params int[] dims) => Arena.Alloc(new Shape(dims));

    public Tensor Ints(int[] data, params int[] dims)
    {
        var t = Arena.Alloc(new Shape(dims), DType.I32);
        data.CopyTo(t.AsIntSpan());
        return t;
    }

    public static float[] ToFloat(double[] a) => Array.ConvertAll(a, v => (float)v);

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>Seeded N(0, scale²) draws rounded to float, returned as doubles so references see exactly what the op sees.</summary>
    public static double[] Randn(int n, int seed, double scale = 1.0)
    {
        var rng = new System.Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    /// <summary>Seeded uniform draws in [lo, hi), rounded to float.</summary>
    public static double[] Uniform(int n, int seed, double lo, double hi)
    {
        var rng = new System.Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    public void Dispose() => Arena.Dispose();
}
