namespace Engine.Rng;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC11; the Random123
/// library), the counter-based generator behind curand's and JAX's default streams. A pure function of a
/// 128-bit counter and a 64-bit key, so any element of a stream can be computed on its own: a GPU kernel
/// that follows the mapping below reproduces the 32-bit integers bit for bit and the floats within a few ulps
/// (they go through log/sqrt/cos/sin).
/// <para><b>Exact stream layout</b> (also in docs/rng.md; a backend must follow it to the letter):</para>
/// <list type="number">
/// <item>Key: k = (k0, k1) = (seed &amp; 0xFFFFFFFF, seed &gt;&gt; 32).</item>
/// <item>Element j of the stream (j = offset + i for element i of a tensor filled at <c>offset</c>) comes from
/// block c = j / 4 (integer division) and lane j % 4. The 128-bit counter of block c is the four words
/// (c &amp; 0xFFFFFFFF, c &gt;&gt; 32, 0, 0), low word first. j is a ulong and wraps modulo 2^64.</item>
/// <item>The block is x0..x3 = Philox4x32-10(counter, key): ten rounds with the Random123 multipliers
/// M0 = 0xD2511F53, M1 = 0xCD9E8D57 and key increments W0 = 0x9E3779B9, W1 = 0xBB67AE85, the key bumped
/// before every round but the first.</item>
/// <item>Uniform: u(x) = ((x &gt;&gt; 8) + 1) · 2^-24 as float, in (0, 1]. Exact in float arithmetic (a 24-bit
/// integer plus one, times a power of two), so every backend gets the same bits; never 0, so log(u) is finite.</item>
/// <item>Normal (Box–Muller on lane pairs): lanes 0 and 1 of a block come from u1 = u(x0), u2 = u(x1); lanes
/// 2 and 3 from u1 = u(x2), u2 = u(x3). With r = sqrt(-2·ln u1) and θ = 2π·u2, the even lane is r·cos θ and
/// the odd lane r·sin θ. All in float: r = MathF.Sqrt(-2f * MathF.Log(u1)), θ = 6.28318548f * u2 (2π rounded
/// to float), then MathF.Cos / MathF.Sin.</item>
/// </list>
/// Element j therefore depends only on (seed, j): how a tensor is split into chunks, threads or calls does
/// not change a single bit.
/// </summary>
public static class Philox
{
    public const uint M0 = 0xD2511F53;
    public const uint M1 = 0xCD9E8D57;
    public const uint W0 = 0x9E3779B9;
    public const uint W1 = 0xBB67AE85;
    public const int Rounds = 10;

    /// <summary>2π rounded to float; θ = TwoPi · u2 in float.</summary>
    public const float TwoPi = 6.28318548f;

    /// <summary>One Philox4x32-10 block: the four 32-bit outputs for counter (c0..c3) and key (k0, k1).</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int r = 0; r < Rounds; r++)
        {
            if (r > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            // One round: two 32×32→64 products, their high halves mixed with the other words and the key.
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
            uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            uint n0 = hi1 ^ c1 ^ k0;
            uint n2 = hi0 ^ c3 ^ k1;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Block <paramref name="block"/> of the stream of <paramref name="seed"/> (counter = (c lo, c hi, 0, 0)).</summary>
    public static (uint X0, uint X1, uint X2, uint X3) StreamBlock(ulong seed, ulong block) =>
        Block((uint)block, (uint)(block >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));

    /// <summary>u(x) = ((x &gt;&gt; 8) + 1) · 2^-24, in (0, 1].</summary>
    public static float ToUniform(uint x) => ((x >> 8) + 1) * (1.0f / 16777216.0f);

    /// <summary>Box–Muller on one lane pair: (r·cos θ, r·sin θ).</summary>
    public static (float Cos, float Sin) BoxMuller(uint xa, uint xb)
    {
        float u1 = ToUniform(xa), u2 = ToUniform(xb);
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        float theta = TwoPi * u2;
        return (r * MathF.Cos(theta), r * MathF.Sin(theta));
    }

    /// <summary>Writes stream elements [offset, offset + y.Length) as uniforms.</summary>
    public static void FillUniform(Span<float> y, ulong seed, ulong offset)
    {
        int i = 0;
        while (i < y.Length)
        {
            ulong j = offset + (ulong)i;
            ulong block = j >> 2;
            int lane = (int)(j & 3);
            var (x0, x1, x2, x3) = StreamBlock(seed, block);
            for (; lane < 4 && i < y.Length; lane++, i++)
            {
                uint x = lane switch { 0 => x0, 1 => x1, 2 => x2, _ => x3 };
                y[i] = ToUniform(x);
            }
        }
    }

    /// <summary>Writes stream elements [offset, offset + y.Length) as standard normals.</summary>
    public static void FillNormal(Span<float> y, ulong seed, ulong offset)
    {
        int i = 0;
        while (i < y.Length)
        {
            ulong j = offset + (ulong)i;
            ulong block = j >> 2;
            int lane = (int)(j & 3);
            var (x0, x1, x2, x3) = StreamBlock(seed, block);
            // A partial block at either end still computes both pairs; only the lanes in range are written.
            var (z0, z1) = BoxMuller(x0, x1);
            var (z2, z3) = BoxMuller(x2, x3);
            for (; lane < 4 && i < y.Length; lane++, i++)
                y[i] = lane switch { 0 => z0, 1 => z1, 2 => z2, _ => z3 };
        }
    }
}
