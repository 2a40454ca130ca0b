namespace Engine.IO.Safetensors;

/// <summary>
/// A safetensors file that cannot be read (or written) as asked. The message always names the file,
/// and the tensor or header field at fault when there is one, so a user can find the broken part.
/// </summary>
public sealed class SafetensorsException : Exception
{
    public SafetensorsException(string filePath, string? tensorName, string reason, Exception? inner = null)
        : base(Format(filePath, tensorName, reason), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Reason = reason;
    }

    /// <summary>The file (or in-memory source name) the error is about.</summary>
    public string FilePath { get; }

    /// <summary>The tensor or header field at fault, or null when the error concerns the whole file.</summary>
    public string? TensorName { get; }

    /// <summary>The message without the file and tensor prefix.</summary>
    public string Reason { get; }

    private static string Format(string filePath, string? tensorName, string reason) =>
        tensorName is null ? $"{filePath}: {reason}" : $"{filePath}: '{SafetensorsHeader.Clip(tensorName)}': {reason}";
}
