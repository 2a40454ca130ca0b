namespace Engine.Tests.Cuda;

/// <summary>
/// A small C# rendering of the Philox stream spec (see kernels/philox.cu) for the kernel tests.
/// TODO(lead): switch the tests to Engine.Random.Philox once the CPU helper's version is merged, and keep the
/// known-answer test below against it.
/// </summary>
internal static class PhiloxSpec
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    public static void Block(Span<uint> ctr, uint key0, uint key1)
    {
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * ctr[0], p1 = (ulong)M1 * ctr[2];
            uint c0 = (uint)(p1 >> 32) ^ ctr[1] ^ key0;
            uint c2 = (uint)(p0 >> 32) ^ ctr[3] ^ key1;
            ctr[1] = (uint)p1;
            ctr[3] = (uint)p0;
            ctr[0] = c0;
            ctr[2] = c2;
            key0 += W0;
            key1 += W1;
        }
    }

    public static float U01(uint x) => ((x >> 8) + 0.5f) * 5.9604644775390625e-8f;

    private static void Counter(Span<uint> x, ulong counter, ulong seed)
    {
        x[0] = (uint)counter;
        x[1] = (uint)(counter >> 32);
        x[2] = 0;
        x[3] = 0;
        Block(x, (uint)seed, (uint)(seed >> 32));
    }

    public static float[] Uniform(int n, ulong seed, ulong offset)
    {
        var y = new float[n];
        Span<uint> x = stackalloc uint[4];
        for (int i = 0; i < n; i++)
        {
            ulong e = offset + (ulong)i;
            Counter(x, e >> 2, seed);
            y[i] = U01(x[(int)(e & 3)]);
        }
        return y;
    }

    public static float[] Normal(int n, ulong seed, ulong offset)
    {
        var y = new float[n];
        Span<uint> x = stackalloc uint[4];
        for (int i = 0; i < n; i++)
        {
            ulong e = offset + (ulong)i;
            Counter(x, e >> 2, seed);
            int lane = (int)(e & 3), pair = lane & 2;
            float u1 = U01(x[pair]), u2 = U01(x[pair + 1]);
            float r = MathF.Sqrt(-2.0f * MathF.Log(u1));
            float theta = 6.28318530717958648f * u2;
            y[i] = (lane & 1) != 0 ? r * MathF.Sin(theta) : r * MathF.Cos(theta);
        }
        return y;
    }
}
