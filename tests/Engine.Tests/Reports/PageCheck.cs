using System.Text.Json.Nodes;

namespace Engine.Tests.Reports;

/// <summary>
/// What a real browser made of a page: how many images it has and which of them did not decode, every console error,
/// uncaught exception and error log entry, every request for something other than the page itself or a data: URI
/// (a self-contained page makes none), and a full-page screenshot.
/// </summary>
internal sealed record PageCheck(int Images, IReadOnlyList<string> BrokenImages, IReadOnlyList<string> Errors, IReadOnlyList<string> ExternalRequests, byte[] Screenshot)
{
    /// <summary>Resolves to JSON: the number of images and the alt text of each that failed to load or decode.</summary>
    private const string ImageScript = """
        (async () => {
          const images = [...document.images];
          const broken = [];
          for (const img of images) {
            try { await img.decode(); } catch (e) { broken.push(img.alt || img.src.slice(0, 60)); continue; }
            if (!img.complete || img.naturalWidth === 0 || img.naturalHeight === 0) broken.push(img.alt || img.src.slice(0, 60));
          }
          return JSON.stringify({ url: location.href, state: document.readyState, images: images.length, broken });
        })()
        """;

    /// <summary>Opens <paramref name="htmlPath"/> in a fresh headless Chromium 1280 pixels wide; all within <paramref name="timeout"/>.</summary>
    public static async Task<PageCheck> RunAsync(string chromium, string htmlPath, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var cancel = deadline.Token;
        await using var chrome = await HeadlessChromium.StartAsync(chromium, cancel);
        try
        {
            foreach (var domain in new[] { "Runtime", "Log", "Page", "Network" }) await chrome.SendAsync(domain + ".enable", null, cancel);
            await chrome.SendAsync("Emulation.setDeviceMetricsOverride",
                new JsonObject { ["width"] = 1280, ["height"] = 900, ["deviceScaleFactor"] = 1, ["mobile"] = false }, cancel);
            string url = new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri;
            // Only a load after the navigation counts: the first about:blank may still be loading when Page is enabled.
            var loaded = chrome.WaitForEventAsync("Page.loadEventFired", chrome.Events.Count, cancel);
            var navigation = await chrome.SendAsync("Page.navigate", new JsonObject { ["url"] = url }, cancel);
            if (navigation["errorText"] is JsonNode navError) throw new InvalidOperationException($"navigating to {url}: {navError}");
            await loaded;

            var evaluation = await chrome.SendAsync("Runtime.evaluate",
                new JsonObject { ["expression"] = ImageScript, ["awaitPromise"] = true, ["returnByValue"] = true }, cancel);
            if (evaluation["exceptionDetails"] is JsonNode thrown) throw new InvalidOperationException($"the image check threw: {thrown.ToJsonString()}");
            var images = JsonNode.Parse((string)evaluation["result"]!["value"]!)!;
            if ((string?)images["url"] != url || (string?)images["state"] != "complete")
                throw new InvalidOperationException($"the image check ran on {images["url"]} ({images["state"]}), not on the loaded {url}");

            var metrics = await chrome.SendAsync("Page.getLayoutMetrics", null, cancel);
            var size = metrics["cssContentSize"] ?? metrics["contentSize"]!;
            var shot = await chrome.SendAsync("Page.captureScreenshot", new JsonObject
            {
                ["format"] = "png",
                ["captureBeyondViewport"] = true,
                ["clip"] = new JsonObject { ["x"] = 0, ["y"] = 0, ["width"] = (double)size["width"]!, ["height"] = Math.Min((double)size["height"]!, 16000), ["scale"] = 1 },
            }, cancel);

            var errors = new List<string>();
            var external = new List<string>();
            foreach (var e in chrome.Events)
            {
                var p = e["params"];
                switch ((string?)e["method"])
                {
                    case "Runtime.consoleAPICalled" when (string?)p!["type"] is "error" or "assert":
                        errors.Add("console." + (string?)p["type"] + ": " + string.Join(" ", p["args"]!.AsArray().Select(a => (a?["value"] ?? a?["description"])?.ToString())));
                        break;
                    case "Runtime.exceptionThrown":
                        var details = p!["exceptionDetails"]!;
                        errors.Add("exception: " + (details["exception"]?["description"] ?? details["text"]));
                        break;
                    case "Log.entryAdded" when (string?)p!["entry"]!["level"] == "error":
                        errors.Add($"log ({p["entry"]!["source"]}): {p["entry"]!["text"]} {p["entry"]!["url"]}");
                        break;
                    case "Network.requestWillBeSent":
                        string request = (string)p!["request"]!["url"]!;
                        if (request != url && !request.StartsWith("data:", StringComparison.Ordinal)) external.Add(request);
                        break;
                }
            }
            return new PageCheck((int)images["images"]!, [.. images["broken"]!.AsArray().Select(b => (string)b!)], errors, external,
                Convert.FromBase64String((string)shot["data"]!));
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            throw new InvalidOperationException($"headless chromium on {htmlPath}: {e.Message}\nchromium's stderr:\n{chrome.Stderr}", e);
        }
    }

    /// <summary>Everything wrong, one problem a line; empty when the page is clean.</summary>
    public string Problems() => string.Join("\n",
        BrokenImages.Select(b => "image not decoded: " + b).Concat(Errors).Concat(ExternalRequests.Select(r => "external request: " + r)));
}
