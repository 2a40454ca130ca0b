using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Tests.Cuda;

/// <summary>Arrays on the pinned object heap, so the emulator (and the GPU upload) can take their address.</summary>
internal static unsafe class Pinned
{
    public static T[] Of<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var a = GC.AllocateUninitializedArray<T>(Math.Max(data.Length, 1), pinned: true);
        data.CopyTo(a);
        return a;
    }

    public static T[] Zeros<T>(int n) where T : unmanaged => GC.AllocateArray<T>(Math.Max(n, 1), pinned: true);

    public static nint Ptr<T>(T[] pinned) where T : unmanaged => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    public static float[] Floats(double[] a) => Of<float>(Array.ConvertAll(a, v => (float)v));
}
