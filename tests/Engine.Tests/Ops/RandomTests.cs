using Engine.Rng;
using Engine.Tests.Testing;

namespace Engine.Tests.Ops;

public class RandomTests
{
    /// <summary>Random123's known-answer vectors for philox4x32_10 (kat_vectors): counter, key, output.</summary>
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox_KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        Assert.Equal((e0, e1, e2, e3), Philox.Block(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void Uniform_FollowsTheDocumentedLayout()
    {
        // element j = lane j % 4 of block j / 4, counter (lo, hi, 0, 0), key (seed lo, seed hi);
        // the offset puts the block counter above 2^32 so its high word matters.
        using var h = new OpHarness();
        ulong seed = 0x0123456789ABCDEFUL, offset = (5UL << 34) + 3;
        int n = 11;
        var y = h.Zeros(n);
        h.Ops.RandomUniform(y, seed, offset);
        for (int i = 0; i < n; i++)
        {
            ulong j = offset + (ulong)i, c = j / 4;
            var x = Philox.Block((uint)c, (uint)(c >> 32), 0, 0, 0x89ABCDEFu, 0x01234567u);
            uint lane = (j % 4) switch { 0 => x.X0, 1 => x.X1, 2 => x.X2, _ => x.X3 };
            double u = ((lane >> 8) + 1) / 16777216.0;
            Assert.Equal((float)u, y.AsSpan()[i]);
            Assert.InRange(y.AsSpan()[i], float.Epsilon, 1f);
        }
    }

    [Fact]
    public void Normal_IsBoxMullerOnLanePairs()
    {
        // An independent double-precision Box–Muller on the documented lane pairs; the float path agrees to a few ulps.
        using var h = new OpHarness();
        ulong seed = 42, offset = 6;
        int n = 37;
        var y = h.Zeros(n);
        h.Ops.RandomNormal(y, seed, offset);
        var e = new double[n];
        for (int i = 0; i < n; i++)
        {
            ulong j = offset + (ulong)i;
            var x = Philox.StreamBlock(seed, j / 4);
            int lane = (int)(j % 4);
            uint a = lane < 2 ? x.X0 : x.X2, b = lane < 2 ? x.X1 : x.X3;
            double u1 = ((a >> 8) + 1) / 16777216.0, u2 = ((b >> 8) + 1) / 16777216.0;
            double r = Math.Sqrt(-2 * Math.Log(u1)), theta = 2 * Math.PI * u2;
            e[i] = lane % 2 == 0 ? r * Math.Cos(theta) : r * Math.Sin(theta);
        }
        Close.Assert("normals vs double Box–Muller", y.AsSpan(), e, 1e-5, 2e-6);
    }

    [Fact]
    public void Normal_MeanAndVariance_OneMillionSamples()
    {
        using var h = new OpHarness();
        int n = 1 << 20;
        var y = h.Arena.Alloc(n);
        h.Ops.RandomNormal(y, seed: 1234, offset: 0);
        double sum = 0, sq = 0, fourth = 0;
        foreach (float v in y.AsSpan())
        {
            sum += v;
            sq += (double)v * v;
            fourth += (double)v * v * v * v;
        }
        double mean = sum / n, variance = sq / n - mean * mean;
        // Standard errors: mean 1e-3, variance 1.4e-3, fourth moment 1e-2. Bounds are about 5 of them.
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(variance, 0.993, 1.007);
        Assert.InRange(fourth / n, 2.95, 3.05);
    }

    [Fact]
    public void Uniform_MeanAndVariance()
    {
        using var h = new OpHarness();
        int n = 1 << 20;
        var y = h.Arena.Alloc(n);
        h.Ops.RandomUniform(y, seed: 99, offset: 0);
        double sum = 0, sq = 0;
        foreach (float v in y.AsSpan())
        {
            sum += v;
            sq += (double)v * v;
        }
        double mean = sum / n;
        Assert.InRange(mean, 0.5 - 0.0015, 0.5 + 0.0015);
        Assert.InRange(sq / n - mean * mean, 1.0 / 12 - 0.0015, 1.0 / 12 + 0.0015);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(16384)]
    [InlineData(50_001)]
    public void Offsets_FillingInPartsEqualsFillingAtOnce(int k)
    {
        using var h = new OpHarness();
        int n = 100_003;
        ulong seed = 7;
        foreach (bool normal in new[] { true, false })
        {
            var whole = h.Arena.Alloc(n);
            var parts = h.Arena.Alloc(n);
            void Fill(Engine.Tensors.Tensor t, ulong offset)
            {
                if (normal) h.Ops.RandomNormal(t, seed, offset);
                else h.Ops.RandomUniform(t, seed, offset);
            }
            Fill(whole, 0);
            Fill(parts.Slice(0, k), 0);
            Fill(parts.Slice(k, n - k), (ulong)k);
            Close.Bitwise($"[0,n) vs [0,{k}) + [{k},n), normal={normal}", whole.AsSpan(), parts.AsSpan());
        }
    }

    [Fact]
    public void SameBitsForAnyThreadCount()
    {
        int n = 100_003;
        float[] Run(int threads)
        {
            using var h = new OpHarness(threads);
            var a = h.Arena.Alloc(n);
            var b = h.Arena.Alloc(n);
            h.Ops.RandomNormal(a, 5, 13);
            h.Ops.RandomUniform(b, 5, 13);
            return [.. a.AsSpan(), .. b.AsSpan()];
        }
        Close.Bitwise("random 1 vs 3 threads", Run(1), Run(3));
    }

    [Fact]
    public void DifferentSeedsDiffer()
    {
        using var h = new OpHarness();
        var a = h.Zeros(64);
        var b = h.Zeros(64);
        h.Ops.RandomNormal(a, 1, 0);
        h.Ops.RandomNormal(b, 1UL << 32, 0); // differs only in the key's high word
        int same = 0;
        for (int i = 0; i < 64; i++) if (a.AsSpan()[i] == b.AsSpan()[i]) same++;
        Assert.True(same < 2, $"{same} of 64 normals equal across seeds");
    }

    [Fact]
    public void WrongDType_Throws()
    {
        using var h = new OpHarness();
        var ids = h.Ints([1, 2, 3], 3);
        Assert.Throws<ArgumentException>(() => h.Ops.RandomNormal(ids, 1, 0));
        Assert.Throws<ArgumentException>(() => h.Ops.RandomUniform(Engine.Tensors.Tensor.None, 1, 0));
    }
}
