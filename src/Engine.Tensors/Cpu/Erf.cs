namespace Engine.Cpu;

/// <summary>
/// erf in float: Norbert Juffa's faithfully rounded erff (max error below 1 ulp; the same polynomial MLX
/// and PyTorch's Metal backend use). .NET has no MathF.Erf; a CUDA kernel can use erff directly.
/// </summary>
internal static class Erf
{
    public static float Of(float a)
    {
        float t = MathF.Abs(a);
        float s = a * a;
        float r;
        if (t > 0.927734375f)
        {
            // max error 0.99527 ulp: erf = 1 - exp(poly(t)) for the tail
            r = MathF.FusedMultiplyAdd(-1.72853470e-5f, t, 3.83197126e-4f);
            float u = MathF.FusedMultiplyAdd(-3.88396438e-3f, t, 2.42546219e-2f);
            r = MathF.FusedMultiplyAdd(r, s, u);
            r = MathF.FusedMultiplyAdd(r, t, -1.06777877e-1f);
            r = MathF.FusedMultiplyAdd(r, t, -6.34846687e-1f);
            r = MathF.FusedMultiplyAdd(r, t, -1.28717512e-1f);
            r = MathF.FusedMultiplyAdd(r, t, -t);
            r = 1.0f - MathF.Exp(r);
            r = MathF.CopySign(r, a);
        }
        else
        {
            // max error 0.98929 ulp: odd polynomial around 0
            r = -5.96761703e-4f;
            r = MathF.FusedMultiplyAdd(r, s, 4.99119423e-3f);
            r = MathF.FusedMultiplyAdd(r, s, -2.67681349e-2f);
            r = MathF.FusedMultiplyAdd(r, s, 1.12819925e-1f);
            r = MathF.FusedMultiplyAdd(r, s, -3.76125336e-1f);
            r = MathF.FusedMultiplyAdd(r, s, 1.28379166e-1f);
            r = MathF.FusedMultiplyAdd(r, a, a);
        }
        return r;
    }
}
