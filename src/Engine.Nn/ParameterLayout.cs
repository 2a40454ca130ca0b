using Engine.Ops;
using Engine.Tensors;

namespace Engine.Nn;

/// <summary>One parameter tensor: its diffusers name, shape and place in the flat buffers.</summary>
/// <param name="Offset">element offset in the flat weight buffer</param>
/// <param name="GradOffset">element offset in the flat gradient buffer, or -1 when frozen</param>
public sealed record ParameterInfo(string Name, Shape Shape, bool Trainable, long Offset, long GradOffset)
{
    public long Numel => Shape.Numel;
}

/// <summary>
/// The size table of a model (llm.c's fill_in_parameter_sizes): every parameter's name, shape and offset.
/// Trainable tensors are packed first, in declaration order, so their weights and their gradients are one
/// contiguous range each: the optimizer, clipping and gradient surgery are single passes over it, with
/// <see cref="TrainableSegments"/> as the per-tensor offset table. Frozen tensors follow and get no gradient.
/// </summary>
public sealed class ParameterLayout
{
    private readonly Dictionary<string, ParameterInfo> _byName;

    public ParameterLayout(IEnumerable<(string Name, Shape Shape)> declared, Func<string, bool> isTrainable)
    {
        var all = declared.ToList();
        var seen = new HashSet<string>();
        foreach (var (name, _) in all)
            if (!seen.Add(name)) throw new ArgumentException($"parameter '{name}' is declared twice");

        var list = new List<ParameterInfo>(all.Count);
        long offset = 0;
        foreach (var (name, shape) in all.Where(p => isTrainable(p.Name)))
        {
            list.Add(new ParameterInfo(name, shape, true, offset, offset));
            offset = checked(offset + shape.Numel);
        }
        TrainableCount = offset;
        foreach (var (name, shape) in all.Where(p => !isTrainable(p.Name)))
        {
            list.Add(new ParameterInfo(name, shape, false, offset, -1));
            offset = checked(offset + shape.Numel);
        }
        TotalCount = offset;
        Parameters = list;
        _byName = list.ToDictionary(p => p.Name);
        TrainableSegments = SegmentTable.FromSizes(list.Where(p => p.Trainable).Select(p => p.Numel));
    }

    /// <summary>Parameters in buffer order: trainable first.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    public long TotalCount { get; }

    public long TrainableCount { get; }

    /// <summary>Offsets of each trainable tensor within the gradient buffer.</summary>
    public SegmentTable TrainableSegments { get; }

    public ParameterInfo this[string name] =>
        _byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"no parameter named '{name}'");

    public bool Contains(string name) => _byName.ContainsKey(name);
}
