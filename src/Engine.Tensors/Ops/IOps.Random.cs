using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>
    /// Fills y with N(0,1) samples from the Philox4x32-10 stream of <paramref name="seed"/>, starting at
    /// element <paramref name="offset"/> of that stream (see Engine.Rng.Philox for the exact mapping).
    /// The same (seed, offset) gives the same numbers on every backend.
    /// </summary>
    void RandomNormal(Tensor y, ulong seed, ulong offset);

    /// <summary>Uniform (0, 1] samples from the same stream layout: u = ((x &gt;&gt; 8) + 1) · 2^-24 of lane word x (docs/rng.md).</summary>
    void RandomUniform(Tensor y, ulong seed, ulong offset);
}
