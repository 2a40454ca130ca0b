using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Engine.Tests.Reports;

/// <summary>
/// One headless Chromium (Debian's <c>chromium</c>) driven over the Chrome DevTools Protocol on a plain WebSocket: no
/// browser-automation package. It runs in a user-data folder of its own; <see cref="DisposeAsync"/> kills the whole
/// process tree and deletes that folder, and every wait has a deadline, so a hung browser cannot hang the test run.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonObject>> _pending = [];
    private readonly List<JsonObject> _events = [];
    private readonly List<(string Method, TaskCompletionSource<JsonObject> Done)> _waiters = [];
    private readonly StringBuilder _stderr = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, DirectoryInfo profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The browser on PATH (chromium, then the names other distributions use), or null.</summary>
    public static string? Find()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome-stable", "google-chrome" })
            foreach (var dir in dirs)
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path)) return path;
            }
        return null;
    }

    /// <summary>Starts the browser and attaches to its first page.</summary>
    public static async Task<HeadlessChromium> StartAsync(string executable, CancellationToken cancel)
    {
        var profile = Directory.CreateTempSubdirectory("doco-chromium-");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. Port 0: the browser picks a free
        // port and writes it to DevToolsActivePort in the profile folder.
        foreach (var arg in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0", $"--user-data-dir={profile.FullName}", "about:blank" })
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start };
        var chrome = new HeadlessChromium(process, profile);
        try
        {
            process.ErrorDataReceived += (_, e) => { lock (chrome._gate) chrome._stderr.AppendLine(e.Data); };
            process.OutputDataReceived += (_, _) => { };
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            int port = await chrome.ReadPortAsync(cancel);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string list = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list"), cancel);
            var page = JsonNode.Parse(list)!.AsArray().Select(t => t!.AsObject()).FirstOrDefault(t => (string?)t["type"] == "page")
                ?? throw new InvalidOperationException($"chromium lists no page target: {list}");
            await chrome._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), cancel);
            chrome._receiving = Task.Run(chrome.ReceiveLoopAsync, CancellationToken.None);
            return chrome;
        }
        catch
        {
            await chrome.DisposeAsync();
            throw;
        }
    }

    /// <summary>Everything the browser wrote to stderr so far (for a failure's message).</summary>
    public string Stderr
    {
        get { lock (_gate) return _stderr.ToString(); }
    }

    /// <summary>Every event received so far, in order.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get { lock (_gate) return [.. _events]; }
    }

    /// <summary>Calls a protocol method and returns its result; a protocol error is an exception naming the method.</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters, CancellationToken cancel)
    {
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_gate)
        {
            id = ++_nextId;
            _pending[id] = done;
        }
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, cancel);
        var reply = await done.Task.WaitAsync(cancel);
        if (reply["error"] is JsonNode error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        return reply["result"]?.AsObject() ?? [];
    }

    /// <summary>
    /// The first event named <paramref name="method"/> from the <paramref name="after"/>-th event on (a count of
    /// <see cref="Events"/> taken before the action that causes it), already received or still to come.
    /// </summary>
    public Task<JsonObject> WaitForEventAsync(string method, int after, CancellationToken cancel)
    {
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = _events.Skip(after).FirstOrDefault(e => (string?)e["method"] == method);
            if (seen is not null) done.SetResult(seen);
            else _waiters.Add((method, done));
        }
        return done.Task.WaitAsync(cancel);
    }

    private async Task<int> ReadPortAsync(CancellationToken cancel)
    {
        string file = Path.Combine(_profile.FullName, "DevToolsActivePort");
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (_process.HasExited) throw new InvalidOperationException($"chromium exited with code {_process.ExitCode} before it opened its DevTools port:\n{Stderr}");
            if (File.Exists(file))
            {
                string[] lines;
                try { lines = await File.ReadAllLinesAsync(file, cancel); }
                catch (IOException) { lines = []; }
                if (lines.Length > 0 && int.TryParse(lines[0], out int port) && port > 0) return port;
            }
            await Task.Delay(100, cancel);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var json = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length))!.AsObject();
                message.SetLength(0);
                Dispatch(json);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException) { }
        finally
        {
            // Whoever still waits learns that the browser is gone instead of waiting for its deadline.
            lock (_gate)
            {
                foreach (var p in _pending.Values) p.TrySetException(new InvalidOperationException("the DevTools connection closed"));
                foreach (var (_, w) in _waiters) w.TrySetException(new InvalidOperationException("the DevTools connection closed"));
            }
        }
    }

    private void Dispatch(JsonObject json)
    {
        lock (_gate)
        {
            if (json["id"] is JsonNode id)
            {
                if (_pending.Remove((int)id, out var done)) done.TrySetResult(json);
                return;
            }
            _events.Add(json);
            string? method = (string?)json["method"];
            for (int i = _waiters.Count - 1; i >= 0; i--)
                if (_waiters[i].Method == method)
                {
                    _waiters[i].Done.TrySetResult(json);
                    _waiters.RemoveAt(i);
                }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        _socket.Dispose();
        try { await _receiving.WaitAsync(TimeSpan.FromSeconds(5)); }
        catch (TimeoutException) { }
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // never started
        _process.Dispose();
        _stop.Dispose();
        // The browser's helpers may still be closing files in the profile: try a few times.
        for (int attempt = 0; attempt < 10 && _profile.Exists; attempt++)
        {
            try { _profile.Delete(recursive: true); }
            catch (IOException) { await Task.Delay(200); }
            catch (UnauthorizedAccessException) { await Task.Delay(200); }
            _profile.Refresh();
        }
    }
}
