using Engine.Tensors;

namespace Engine.Ops;

public partial interface IOps
{
    /// <summary>y = a + b (same shapes; y may alias a or b).</summary>
    void Add(Tensor y, Tensor a, Tensor b);

    /// <summary>y = a ⊙ b.</summary>
    void Mul(Tensor y, Tensor a, Tensor b);

    /// <summary>y = alpha · x.</summary>
    void Scale(Tensor y, Tensor x, float alpha);

    /// <summary>y += alpha · x.</summary>
    void Axpy(Tensor y, float alpha, Tensor x);

    /// <summary>Sets every element of an f32 tensor.</summary>
    void Fill(Tensor y, float value);

    /// <summary>Element copy between two tensors of equal element count and equal dtype (any dtype) on this device.</summary>
    void Copy(Tensor dst, Tensor src);

    /// <summary>
    /// Embedding lookup: ids [n] (I32, any shape with n elements), table [vocab, dim], y [n, dim] (or any shape
    /// ending in dim with n·dim elements). An id outside [0, vocab) throws ArgumentException naming the id's
    /// position, its value and the table size, before anything is written.
    /// </summary>
    void EmbeddingForward(Tensor y, Tensor ids, Tensor table);

    /// <summary>
    /// Scatter-add of dy [n, dim] into dtable rows (accumulated; repeated ids add up, in id order, so the bits
    /// do not depend on the thread count).
    /// </summary>
    void EmbeddingBackward(Tensor dtable, Tensor dy, Tensor ids);

    /// <summary>Nearest-neighbour 2× upsampling: x [N, C, H, W] → y [N, C, 2H, 2W].</summary>
    void Upsample2xForward(Tensor y, Tensor x);

    /// <summary>dx [N, C, H, W] = sum of dy over each 2×2 block.</summary>
    void Upsample2xBackward(Tensor dx, Tensor dy);

    /// <summary>y [N, Ca+Cb, *] = concat(a [N, Ca, *], b [N, Cb, *]) along channels.</summary>
    void ConcatChannels(Tensor y, Tensor a, Tensor b);

    /// <summary>Inverse of <see cref="ConcatChannels"/>: splits x [N, Ca+Cb, *] into a and b (either may be None).</summary>
    void SplitChannels(Tensor a, Tensor b, Tensor x);
}
