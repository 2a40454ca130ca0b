namespace Engine.Tensors;

/// <summary>Argument checks shared by every backend so that bad shapes fail the same way everywhere.</summary>
public static class Check
{
    public static void Shape(Tensor t, Shape expected, string name)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None, expected {expected}");
        if (t.Shape != expected) throw new ArgumentException($"{name} has shape {t.Shape}, expected {expected}");
    }

    public static void Numel(Tensor t, long expected, string name)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None, expected {expected} elements");
        if (t.Numel != expected) throw new ArgumentException($"{name} {t.Shape} has {t.Numel} elements, expected {expected}");
    }

    public static void AtLeast(Tensor t, long expected, string name)
    {
        if (t.IsNone) throw new ArgumentException($"{name} is None, expected at least {expected} elements");
        if (t.Numel < expected) throw new ArgumentException($"{name} {t.Shape} has {t.Numel} elements, expected at least {expected}");
    }

    public static void SameShape(Tensor a, Tensor b, string nameA, string nameB)
    {
        if (a.Shape != b.Shape) throw new ArgumentException($"{nameA} {a.Shape} and {nameB} {b.Shape} must have the same shape");
    }

    public static void Positive(int v, string name)
    {
        if (v <= 0) throw new ArgumentOutOfRangeException(name, v, $"{name} must be positive");
    }
}
