using Engine.Tensors;

namespace Engine.Ops;

/// <summary>2-D convolution geometry: x [N, C, H, W], weight [K, C, R, S], y [N, K, OutH, OutW] (PyTorch layout).</summary>
public readonly record struct Conv2dSpec(
    int N, int C, int H, int W,
    int K, int R, int S,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0)
{
    // A zero stride yields 0 instead of throwing, so that an invalid spec can still be printed in its error message.
    public int OutH => StrideH > 0 ? (H + 2 * PadH - R) / StrideH + 1 : 0;

    public int OutW => StrideW > 0 ? (W + 2 * PadW - S) / StrideW + 1 : 0;

    public Shape XShape => new(N, C, H, W);

    public Shape WeightShape => new(K, C, R, S);

    public Shape YShape => new(N, K, OutH, OutW);

    /// <summary>Square kernel, same stride and padding in both directions.</summary>
    public static Conv2dSpec Square(int n, int c, int h, int w, int k, int kernel, int stride = 1, int pad = 0) =>
        new(n, c, h, w, k, kernel, kernel, stride, stride, pad, pad);
}

public partial interface IOps
{
    /// <summary>y = conv(x, weight) + bias; bias may be None.</summary>
    void Conv2dForward(Tensor y, Tensor x, Tensor weight, Tensor bias, in Conv2dSpec spec);

    /// <summary>dx overwritten; dweight and dbias accumulated; any of them may be None.</summary>
    void Conv2dBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight, in Conv2dSpec spec);
}
