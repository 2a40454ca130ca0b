using System.Runtime.InteropServices;

namespace Engine.Unlearning.Outputs;

/// <summary>
/// Hard links for the unchanged components of an erased model: the text encoder and VAE are gigabytes that need not be
/// copied. .NET has no hard-link API, so this calls link(2) or CreateHardLinkW. Safe because our writers (and
/// safetensors tools generally) replace files by rename rather than rewrite them in place, so a link never sees a
/// later edit of the base model.
/// </summary>
internal static partial class HardLink
{
    /// <summary>Links <paramref name="link"/> to <paramref name="existing"/>; false (nothing created) where the file system refuses, e.g. across devices.</summary>
    public static bool TryCreate(string existing, string link)
    {
        try
        {
            return OperatingSystem.IsWindows() ? CreateHardLinkW(link, existing, 0) : Link(existing, link) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Links when possible, else copies; returns true for a link.</summary>
    public static bool LinkOrCopy(string existing, string target)
    {
        if (TryCreate(existing, target)) return true;
        File.Copy(existing, target);
        return false;
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string link);

    [LibraryImport("kernel32", EntryPoint = "CreateHardLinkW", StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateHardLinkW(string link, string existing, nint securityAttributes);
}
