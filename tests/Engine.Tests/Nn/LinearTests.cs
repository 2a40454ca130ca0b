using Engine.Nn;
using Engine.Nn.Layers;
using Engine.Tensors;
using Engine.Tests.Testing;

namespace Engine.Tests.Nn;

public class LinearTests
{
    private static double[] Reference(double[] x, double[] w, double[] b, int rows, int fin, int fout)
    {
        var y = new double[rows * fout];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < fout; o++)
            {
                double s = b.Length > 0 ? b[o] : 0;
                for (int i = 0; i < fin; i++) s += x[r * fin + i] * w[o * fin + i];
                y[r * fout + o] = s;
            }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1, true)]
    [InlineData(7, 13, 5, true)]
    [InlineData(77, 8, 3, false)]
    public void ForwardAndBackward_MatchReferenceAndFiniteDifferences(int rows, int fin, int fout, bool bias)
    {
        using var h = new OpHarness();
        var decl = new List<(string, Shape)>();
        Linear.Declare(decl, "proj", fin, fout, bias);
        var store = new ParameterStore(new ParameterLayout(decl, _ => true), h.Arena);
        var lin = new Linear(store, "proj", bias);
        var w = OpHarness.Randn(fout * fin, 1);
        var b = bias ? OpHarness.Randn(fout, 2) : [];
        var x = OpHarness.Randn(rows * fin, 3);
        OpHarness.ToFloat(w).CopyTo(lin.Weight.AsSpan());
        if (bias) OpHarness.ToFloat(b).CopyTo(lin.Bias.AsSpan());

        var y = h.Zeros(rows, fout);
        lin.Forward(h.Ops, y, h.Tensor(x, rows, fin));
        Close.Assert("linear forward", y.AsSpan(), Reference(x, w, b, rows, fin, fout), 1e-5, 1e-5);

        (string, double[])[] inputs = bias ? [("x", x), ("weight", w), ("bias", b)] : [("x", x), ("weight", w)];
        GradCheck.Run("Linear", inputs,
            v => Reference(v[0], v[1], bias ? v[2] : [], rows, fin, fout),
            (v, dy) =>
            {
                store.Grads.AsSpan().Clear();
                var dx = h.Zeros(rows, fin);
                lin.Backward(h.Ops, dx, h.Tensor(dy, rows, fout), h.Tensor(v[0], rows, fin));
                var grads = new List<float[]?> { dx.AsSpan().ToArray(), lin.dWeight.AsSpan().ToArray() };
                if (bias) grads.Add(lin.dBias.AsSpan().ToArray());
                return [.. grads];
            });
    }

    [Fact]
    public void Layout_PacksTrainableFirst_AndFrozenHasNoGradient()
    {
        var decl = new List<(string, Shape)>();
        Linear.Declare(decl, "a", 3, 2);
        Linear.Declare(decl, "b.to_k", 4, 5, bias: false);
        var layout = new ParameterLayout(decl, n => n.Contains("to_k", StringComparison.Ordinal));
        Assert.Equal("b.to_k.weight", layout.Parameters[0].Name);
        Assert.Equal(20, layout.TrainableCount);
        Assert.Equal(28, layout.TotalCount);
        Assert.Equal([0L, 20L], layout.TrainableSegments.Offsets);
        using var arena = new Engine.Memory.NativeArena();
        var store = new ParameterStore(layout, arena);
        Assert.True(store.Grad("a.weight").IsNone);
        Assert.Equal(store.Grads.Ptr, store.Grad("b.to_k.weight").Ptr);
        Assert.Throws<ArgumentException>(() => new ParameterLayout([("x", new Shape(1)), ("x", new Shape(2))], _ => false));
    }
}
