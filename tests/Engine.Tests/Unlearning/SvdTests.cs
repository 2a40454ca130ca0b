using Engine.Unlearning.Outputs;

namespace Engine.Tests.Unlearning;

/// <summary>The one-sided Jacobi SVD behind the LoRA export: exact reconstruction, ordering, orthonormal factors.</summary>
public sealed class SvdTests
{
    /// <summary>A random [m, n] matrix of rank <paramref name="rank"/> (a product of [m, rank] and [rank, n] factors).</summary>
    private static double[] Random(int m, int n, int rank, int seed)
    {
        var rng = new Random(seed);
        var a = new double[m * rank];
        var b = new double[rank * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() * 2 - 1;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextDouble() * 2 - 1;
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < rank; k++) c[i * n + j] += a[i * rank + k] * b[k * n + j];
        return c;
    }

    [Theory]
    [InlineData(6, 6, 6)]
    [InlineData(9, 4, 4)]   // tall
    [InlineData(3, 8, 3)]   // wide
    [InlineData(10, 7, 2)]  // rank-deficient, tall
    [InlineData(5, 12, 1)]  // rank-deficient, wide
    [InlineData(4, 4, 0)]   // zero
    [InlineData(1, 5, 1)]
    [InlineData(64, 32, 32)]
    public void Reconstructs_SortedAndOrthonormal(int m, int n, int rank, int seed = 7)
    {
        var a = rank == 0 ? new double[m * n] : Random(m, n, rank, seed);
        var svd = Svd.Compute(a, m, n);
        int k = Math.Min(m, n);
        Assert.Equal(k, svd.K);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int r = 0; r < k; r++) sum += svd.U[i * k + r] * svd.S[r] * svd.V[j * k + r];
                Assert.True(Math.Abs(sum - a[i * n + j]) < 1e-10, $"A[{i},{j}] = {a[i * n + j]}, U·S·Vᵀ = {sum}");
            }
        for (int r = 1; r < k; r++) Assert.True(svd.S[r] <= svd.S[r - 1], $"S not descending at {r}: {svd.S[r - 1]}, {svd.S[r]}");
        Assert.All(svd.S, s => Assert.True(s >= 0));
        for (int r = rank; r < k; r++) Assert.True(svd.S[r] < 1e-10, $"S[{r}] = {svd.S[r]} of a rank-{rank} matrix");
        AssertOrthonormal(svd.U, m, k);
        AssertOrthonormal(svd.V, n, k);
    }

    private static void AssertOrthonormal(double[] q, int rows, int k)
    {
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
            {
                double dot = 0;
                for (int i = 0; i < rows; i++) dot += q[i * k + a] * q[i * k + b];
                Assert.True(Math.Abs(dot - (a == b ? 1 : 0)) < 1e-10, $"columns {a}, {b}: dot {dot}");
            }
    }

    [Fact]
    public void KnownSingularValues()
    {
        // diag(3, 1) rotated: singular values are 3 and 1 whatever the rotation.
        double c = Math.Cos(0.3), s = Math.Sin(0.3);
        double[] a = [3 * c, -s, 3 * s, c];
        var svd = Svd.Compute(a, 2, 2);
        Assert.Equal(3, svd.S[0], 12);
        Assert.Equal(1, svd.S[1], 12);
    }
}
