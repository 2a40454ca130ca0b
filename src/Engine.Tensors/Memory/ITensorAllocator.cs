using Engine.Tensors;

namespace Engine.Memory;

/// <summary>Something that hands out tensor storage on one device: a host arena now, a device arena with CUDA.</summary>
public interface ITensorAllocator
{
    Tensor Alloc(Shape shape, DType dtype = DType.F32, bool zero = true);
}
