using System.Diagnostics;

namespace Engine.Cli;

/// <summary>
/// A one-line progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise. A resumed run passes
/// the step it resumed at as <paramref name="start"/>, so that the time left is estimated from this run's pace.
/// </summary>
internal sealed class ProgressBar(string label, TextWriter output, int start = 0)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastDecile = -1;

    public void Report(int done, int total, string extra = "")
    {
        double f = total > 0 ? (double)done / total : 1;
        const int Width = 30;
        int filled = (int)Math.Round(f * Width);
        double elapsed = _clock.Elapsed.TotalSeconds;
        double eta = done > start ? elapsed / (done - start) * (total - done) : 0;
        string line = $"{label} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total}  {elapsed:F1}s elapsed, {eta:F1}s left {extra}";
        if (!Console.IsErrorRedirected && ReferenceEquals(output, Console.Error))
        {
            output.Write("\r" + line);
            if (done == total) output.WriteLine();
        }
        else if ((int)(f * 10) != _lastDecile || done == total)
        {
            _lastDecile = (int)(f * 10);
            output.WriteLine(line);
        }
    }
}
