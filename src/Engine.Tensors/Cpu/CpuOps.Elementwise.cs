using Engine.Tensors;

namespace Engine.Cpu;

public sealed partial class CpuOps
{
    public void Add(Tensor y, Tensor a, Tensor b) => throw new NotImplementedException("Elementwise");

    public void Mul(Tensor y, Tensor a, Tensor b) => throw new NotImplementedException("Elementwise");

    public void Scale(Tensor y, Tensor x, float alpha) => throw new NotImplementedException("Elementwise");

    public void Axpy(Tensor y, float alpha, Tensor x) => throw new NotImplementedException("Elementwise");

    public void Fill(Tensor y, float value) => throw new NotImplementedException("Elementwise");

    public void Copy(Tensor dst, Tensor src) => throw new NotImplementedException("Elementwise");

    public void EmbeddingForward(Tensor y, Tensor ids, Tensor table) => throw new NotImplementedException("Elementwise");

    public void EmbeddingBackward(Tensor dtable, Tensor dy, Tensor ids) => throw new NotImplementedException("Elementwise");

    public void Upsample2xForward(Tensor y, Tensor x) => throw new NotImplementedException("Elementwise");

    public void Upsample2xBackward(Tensor dx, Tensor dy) => throw new NotImplementedException("Elementwise");

    public void ConcatChannels(Tensor y, Tensor a, Tensor b) => throw new NotImplementedException("Elementwise");

    public void SplitChannels(Tensor a, Tensor b, Tensor x) => throw new NotImplementedException("Elementwise");
}
