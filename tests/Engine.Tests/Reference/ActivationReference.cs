namespace Engine.Tests.Reference;

/// <summary>Scalar double-precision activations, written for readability.</summary>
public static class ActivationReference
{
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double Silu(double x) => x * Sigmoid(x);

    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    public static double QuickGelu(double x) => x * Sigmoid(1.702 * x);

    public static double LeakyRelu(double x, double slope) => x > 0 ? x : slope * x;

    /// <summary>
    /// erf to about 1e-14, independent of the engine's float approximation: the Maclaurin series
    /// for |x| &lt; 3 and Laplace's continued fraction for erfc beyond.
    /// </summary>
    public static double Erf(double x)
    {
        double z = Math.Abs(x);
        double r;
        if (z < 3)
        {
            // erf z = 2/√π Σ (-1)^n z^(2n+1) / (n! (2n+1))
            double term = z, sum = z;
            for (int n = 1; n < 200; n++)
            {
                term *= -z * z / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc z = e^(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
            double f = z;
            for (int k = 80; k >= 1; k--) f = z + k / 2.0 / f;
            r = 1 - Math.Exp(-z * z) / (Math.Sqrt(Math.PI) * f);
        }
        return x < 0 ? -r : r;
    }
}
