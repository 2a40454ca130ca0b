namespace Engine.World.Ruler;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets (FID's formula on the classifier's features):
/// ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½). The matrix square roots come from symmetric eigen-decompositions
/// (cyclic Jacobi, double precision), which stay exact for the rank-deficient covariances of small sample sets.
/// </summary>
public static class FrechetDistance
{
    /// <param name="a">[n, d] row-major</param>
    /// <param name="b">[m, d] row-major</param>
    public static double Compute(ReadOnlySpan<float> a, int n, ReadOnlySpan<float> b, int m, int d)
    {
        if (n < 2 || m < 2) throw new ArgumentException("the Fréchet distance needs at least two samples per set");
        var (muA, covA) = Moments(a, n, d);
        var (muB, covB) = Moments(b, m, d);
        double meanTerm = 0;
        for (int i = 0; i < d; i++) meanTerm += (muA[i] - muB[i]) * (muA[i] - muB[i]);
        var rootA = SqrtPsd(covA, d);
        var inner = Multiply(Multiply(rootA, covB, d), rootA, d);
        // Symmetrize: rounding makes the product slightly asymmetric and Jacobi expects a symmetric matrix.
        for (int i = 0; i < d; i++)
            for (int j = i + 1; j < d; j++)
                inner[i * d + j] = inner[j * d + i] = 0.5 * (inner[i * d + j] + inner[j * d + i]);
        var eig = Eigen(inner, d, out _);
        double traceRoot = eig.Sum(l => Math.Sqrt(Math.Max(l, 0)));
        double trace = 0;
        for (int i = 0; i < d; i++) trace += covA[i * d + i] + covB[i * d + i];
        return Math.Max(0, meanTerm + trace - 2 * traceRoot);
    }

    /// <summary>Mean and unbiased covariance of the rows.</summary>
    public static (double[] Mean, double[] Cov) Moments(ReadOnlySpan<float> x, int n, int d)
    {
        if (x.Length != n * d) throw new ArgumentException($"{x.Length} values for {n}×{d} features");
        var mu = new double[d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) mu[i] += x[r * d + i];
        for (int i = 0; i < d; i++) mu[i] /= n;
        var cov = new double[d * d];
        var centred = new double[d];
        for (int r = 0; r < n; r++)
        {
            for (int i = 0; i < d; i++) centred[i] = x[r * d + i] - mu[i];
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) cov[i * d + j] += centred[i] * centred[j];
        }
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= n - 1;
        return (mu, cov);
    }

    /// <summary>The symmetric square root V·diag(√max(λ, 0))·Vᵀ of a symmetric positive semi-definite matrix.</summary>
    public static double[] SqrtPsd(double[] s, int d)
    {
        var lambda = Eigen(s, d, out var v);
        var root = new double[d * d];
        for (int k = 0; k < d; k++)
        {
            double r = Math.Sqrt(Math.Max(lambda[k], 0));
            if (r == 0) continue;
            for (int i = 0; i < d; i++)
            {
                double vi = v[i * d + k] * r;
                for (int j = 0; j < d; j++) root[i * d + j] += vi * v[j * d + k];
            }
        }
        return root;
    }

    private static double[] Multiply(double[] a, double[] b, int d)
    {
        var c = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
            {
                double aik = a[i * d + k];
                if (aik == 0) continue;
                for (int j = 0; j < d; j++) c[i * d + j] += aik * b[k * d + j];
            }
        return c;
    }

    /// <summary>
    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations; <paramref name="vectors"/> receives the
    /// eigenvectors as columns. Converges quadratically; sweeps stop when the off-diagonal mass is negligible.
    /// </summary>
    public static double[] Eigen(double[] s, int d, out double[] vectors)
    {
        var a = (double[])s.Clone();
        var v = new double[d * d];
        for (int i = 0; i < d; i++) v[i * d + i] = 1;
        double scale = 0;
        for (int i = 0; i < d * d; i++) scale += a[i] * a[i];
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
            if (off <= 1e-30 * Math.Max(scale, 1e-300)) break;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++)
                {
                    double apq = a[p * d + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), sn = t * c;
                    for (int k = 0; k < d; k++)
                    {
                        double akp = a[k * d + p], akq = a[k * d + q];
                        a[k * d + p] = c * akp - sn * akq;
                        a[k * d + q] = sn * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double apk = a[p * d + k], aqk = a[q * d + k];
                        a[p * d + k] = c * apk - sn * aqk;
                        a[q * d + k] = sn * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double vkp = v[k * d + p], vkq = v[k * d + q];
                        v[k * d + p] = c * vkp - sn * vkq;
                        v[k * d + q] = sn * vkp + c * vkq;
                    }
                }
        }
        vectors = v;
        var lambda = new double[d];
        for (int i = 0; i < d; i++) lambda[i] = a[i * d + i];
        return lambda;
    }
}
