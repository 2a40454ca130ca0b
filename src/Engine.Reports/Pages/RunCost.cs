namespace Engine.Reports.Pages;

/// <summary>
/// What a command measured of itself for its report page: its wall time from start to the page, this process's
/// peak resident memory (0 where the OS does not say), the backend it ran on, and the device memory peak where the
/// backend reports one (null: it reports none).
/// </summary>
public sealed record RunCost(double CommandSeconds, long PeakRssBytes, string? Backend = null, long? DevicePeakBytes = null);
