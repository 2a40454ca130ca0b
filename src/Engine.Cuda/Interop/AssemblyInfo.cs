using System.Runtime.CompilerServices;

// Every native signature in Interop/ is blittable (pointers, integers, floats): no marshalling stubs, no
// hidden allocations, and the source generator refuses anything else.
[assembly: DisableRuntimeMarshalling]
