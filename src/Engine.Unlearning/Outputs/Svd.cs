using System.Numerics;

namespace Engine.Unlearning.Outputs;

/// <summary>
/// The thin singular value decomposition A = U·diag(S)·Vᵀ of a real [m, n] matrix, in double precision:
/// U [m, k] and V [n, k] row-major with orthonormal columns, S descending, k = min(m, n).
/// <para>
/// Computed by one-sided Jacobi (Hestenes): plane rotations orthogonalise the columns of A until every pair is
/// orthogonal to machine precision. It is chosen over Golub–Kahan bidiagonalisation because it is a few dozen lines,
/// has no shifts or deflation to get wrong, and computes even the small singular values to high relative accuracy —
/// which a LoRA's truncation error is made of. Its O(k²·max(m, n)) cost per sweep is fine for the matrices it sees
/// (cross-attention projections, at most about 1280×1280: about 6 s for 1280×768 on one core, so LoraExport runs
/// the tensors in parallel).
/// </para>
/// </summary>
public sealed class Svd
{
    private Svd(int rows, int cols, double[] u, double[] s, double[] v)
    {
        Rows = rows;
        Cols = cols;
        U = u;
        S = s;
        V = v;
    }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>min(Rows, Cols): the number of singular values.</summary>
    public int K => S.Length;

    /// <summary>[Rows, K] row-major, orthonormal columns.</summary>
    public double[] U { get; }

    /// <summary>Singular values, descending, ≥ 0.</summary>
    public double[] S { get; }

    /// <summary>[Cols, K] row-major, orthonormal columns.</summary>
    public double[] V { get; }

    private const int MaxSweeps = 80;

    /// <summary>Decomposes the row-major [m, n] matrix <paramref name="a"/>.</summary>
    public static Svd Compute(ReadOnlySpan<double> a, int m, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (a.Length != (long)m * n) throw new ArgumentException($"{a.Length} values for a [{m}, {n}] matrix", nameof(a));
        if (m >= n) return Tall(a, m, n, transposed: false);
        // A wide matrix: decompose Aᵀ = U'·S·V'ᵀ, so A = V'·S·U'ᵀ — rotate rows rather than the many columns.
        return Tall(a, n, m, transposed: true);
    }

    /// <inheritdoc cref="Compute(ReadOnlySpan{double}, int, int)"/>
    public static Svd Compute(ReadOnlySpan<float> a, int m, int n)
    {
        var d = new double[a.Length];
        for (int i = 0; i < d.Length; i++) d[i] = a[i];
        return Compute(d, m, n);
    }

    /// <summary>
    /// B = A (or Aᵀ when <paramref name="transposed"/>) is [rows, cols] with rows ≥ cols. Its columns are held as
    /// contiguous vectors so each rotation is two streaming passes.
    /// </summary>
    private static Svd Tall(ReadOnlySpan<double> a, int rows, int cols, bool transposed)
    {
        // col[j][i] = B[i, j]; for B = A that is a[i*cols + j], for B = Aᵀ (A is [cols, rows]) a[j*rows + i].
        var col = new double[cols][];
        for (int j = 0; j < cols; j++)
        {
            var c = col[j] = new double[rows];
            for (int i = 0; i < rows; i++) c[i] = transposed ? a[j * rows + i] : a[i * cols + j];
        }
        var vcol = new double[cols][];
        for (int j = 0; j < cols; j++) (vcol[j] = new double[cols])[j] = 1;

        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < cols - 1; p++)
                for (int q = p + 1; q < cols; q++)
                {
                    var cp = col[p];
                    var cq = col[q];
                    var (alpha, beta, gamma) = Dots(cp, cq);
                    if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double cs = 1 / Math.Sqrt(1 + t * t), sn = cs * t;
                    Rotate(cp, cq, cs, sn);
                    Rotate(vcol[p], vcol[q], cs, sn);
                }
            if (!rotated) break;
        }

        var sigma = new double[cols];
        for (int j = 0; j < cols; j++) sigma[j] = Math.Sqrt(Dot(col[j], col[j]));
        var order = Enumerable.Range(0, cols).OrderByDescending(j => sigma[j]).ToArray();
        double max = sigma[order[0]];
        // Columns this small are rounding noise of a rank-deficient matrix: their direction is arbitrary, so the
        // left vector is completed to an orthonormal basis instead of normalising the noise.
        double zero = max * 1e-13 * rows;

        var s = new double[cols];
        var left = new List<double[]>(cols);
        var right = new double[cols][];
        for (int k = 0; k < cols; k++)
        {
            int j = order[k];
            right[k] = vcol[j];
            if (sigma[j] > zero && sigma[j] > 0)
            {
                s[k] = sigma[j];
                var u = col[j];
                for (int i = 0; i < rows; i++) u[i] /= sigma[j];
                left.Add(u);
            }
            else left.Add(null!);
        }
        for (int k = 0; k < cols; k++)
            if (left[k] is null) left[k] = Complete(left, rows);

        // Row-major [rows, cols] from column vectors.
        double[] Pack(IReadOnlyList<double[]> vecs, int len)
        {
            var m = new double[len * cols];
            for (int k = 0; k < cols; k++)
                for (int i = 0; i < len; i++) m[i * cols + k] = vecs[k][i];
            return m;
        }
        var uMat = Pack(left, rows);
        var vMat = Pack(right, cols);
        return transposed ? new Svd(cols, rows, vMat, s, uMat) : new Svd(rows, cols, uMat, s, vMat);
    }

    /// <summary>|x|², |y|², x·y in one pass (SIMD: the sweeps are nearly all this and <see cref="Rotate"/>).</summary>
    private static (double Xx, double Yy, double Xy) Dots(double[] x, double[] y)
    {
        var vxx = Vector<double>.Zero;
        var vyy = Vector<double>.Zero;
        var vxy = Vector<double>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            var a = new Vector<double>(x, i);
            var b = new Vector<double>(y, i);
            vxx += a * a;
            vyy += b * b;
            vxy += a * b;
        }
        double xx = Vector.Sum(vxx), yy = Vector.Sum(vyy), xy = Vector.Sum(vxy);
        for (; i < x.Length; i++)
        {
            xx += x[i] * x[i];
            yy += y[i] * y[i];
            xy += x[i] * y[i];
        }
        return (xx, yy, xy);
    }

    private static void Rotate(double[] x, double[] y, double c, double s)
    {
        int i = 0;
        var vc = new Vector<double>(c);
        var vs = new Vector<double>(s);
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            var a = new Vector<double>(x, i);
            var b = new Vector<double>(y, i);
            (vc * a - vs * b).CopyTo(x, i);
            (vs * a + vc * b).CopyTo(y, i);
        }
        for (; i < x.Length; i++)
        {
            double xi = x[i], yi = y[i];
            x[i] = c * xi - s * yi;
            y[i] = s * xi + c * yi;
        }
    }

    private static double Dot(double[] x, double[] y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>A unit vector orthogonal to every non-null vector of <paramref name="basis"/> (Gram–Schmidt on eᵢ, twice).</summary>
    private static double[] Complete(List<double[]> basis, int len)
    {
        for (int e = 0; e < len; e++)
        {
            var v = new double[len];
            v[e] = 1;
            for (int pass = 0; pass < 2; pass++)
                foreach (var b in basis)
                {
                    if (b is null) continue;
                    double d = Dot(v, b);
                    for (int i = 0; i < len; i++) v[i] -= d * b[i];
                }
            double norm = Math.Sqrt(Dot(v, v));
            if (norm > 0.5)
            {
                for (int i = 0; i < len; i++) v[i] /= norm;
                return v;
            }
        }
        throw new InvalidOperationException("no vector left to complete the basis"); // cannot happen: fewer than len vectors
    }
}
