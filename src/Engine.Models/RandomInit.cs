using Engine.Nn;
using Engine.Ops;

namespace Engine.Models;

/// <summary>
/// Random weights for benchmarks and shape tests: N(0, 0.02²) for weight matrices and kernels, ones for
/// normalization weights, zeros for biases. Deterministic in the seed (Philox).
/// </summary>
public static class RandomInit
{
    public static void Fill(IOps ops, ParameterStore store, ulong seed)
    {
        ulong offset = 0;
        foreach (var p in store.Layout.Parameters)
        {
            var w = store.Weight(p.Name);
            bool isNorm = p.Name.Contains("norm", StringComparison.Ordinal);
            if (p.Name.EndsWith(".bias", StringComparison.Ordinal)) ops.Fill(w, 0f);
            else if (isNorm && p.Shape.Rank == 1) ops.Fill(w, 1f);
            else
            {
                ops.RandomNormal(w, seed, offset);
                ops.Scale(w, w, 0.02f);
                offset += (ulong)p.Numel;
            }
        }
    }
}
