using System.Net;

namespace MarketStream.LoadTests;

/// <summary>
/// The gateway a run measures: MarketStream's own (its dll, built with the harness), any protocol-v1 gateway
/// the harness starts from a shell command (<c>--gateway-command</c>, <c>--compare</c>), or one already running
/// elsewhere (<c>--target</c>). CPU, RSS and threads are those of the whole process tree the harness started,
/// and unknown (null) for a gateway it did not start. Disposing it stops that tree.
/// </summary>
internal sealed class GatewayUnderTest : IAsyncDisposable
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };

    // A gateway without /metrics would cost every sample a failed request (up to the 5 s timeout on a target that
    // drops them): one that misses the first scrape is not asked again. MarketStream's is always asked (true from
    // the start), since the ingest scenario scrapes it before it listens.
    private bool? scrapes;

    public GatewayUnderTest(string label, string description, GatewayEndpoints endpoints, ChildProcess? process, bool? scrapes)
    {
        Label = label;
        Description = description;
        Endpoints = endpoints;
        Process = process;
        this.scrapes = scrapes;
    }

    /// <summary>A short name for logs and tables: "MarketStream", "--gateway-command", "--compare", "--target".</summary>
    public string Label { get; }

    /// <summary>What it is and how it is measured, for the report.</summary>
    public string Description { get; }

    public GatewayEndpoints Endpoints { get; }

    /// <summary>The process the harness started (the root of its tree), or null for <c>--target</c>.</summary>
    public ChildProcess? Process { get; }

    /// <summary>Whether <c>/metrics</c> answers: false when it missed the first scrape.</summary>
    public bool HasMetrics => scrapes != false;

    /// <summary>CPU seconds and RSS of the whole tree now, or null when the gateway runs elsewhere.</summary>
    public (double CpuSeconds, long RssBytes)? Usage()
    {
        if (Process is null)
        {
            return null;
        }

        var tree = Process.Tree();
        return (ProcessTree.CpuSeconds(tree), tree.Sum(m => ProcStat.RssBytes(m.Pid)));
    }

    /// <summary>CPU seconds of every thread of the tree (thread ids are unique across processes).</summary>
    public Dictionary<int, (string Name, double CpuSeconds)> Threads()
    {
        var all = new Dictionary<int, (string, double)>();
        foreach (var m in Process?.Tree() ?? [])
        {
            foreach (var (tid, t) in ProcStat.Threads(m.Pid))
            {
                all[tid] = t;
            }
        }

        return all;
    }

    /// <summary>Waits until <c>GET /healthz/ready</c> answers 200; fails if the process exits first or the time runs out.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            ct.ThrowIfCancellationRequested();
            if (Process?.HasExited == true)
            {
                throw new InvalidOperationException($"the gateway ({Label}) exited before it was ready:\n{Process.Tail()}");
            }

            try
            {
                using var r = await http.GetAsync(new Uri(Endpoints.Http, "healthz/ready"), ct).ConfigureAwait(false);
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        throw new TimeoutException($"the gateway ({Label}) was not ready within {timeout.TotalSeconds:0} s:\n{Process?.Tail()}");
    }

    /// <summary>One scrape of <c>/metrics</c>, or null when it does not answer (or, for a gateway other than MarketStream, has not answered before).</summary>
    public async Task<GatewayMetrics?> ScrapeAsync(CancellationToken ct)
    {
        if (scrapes == false)
        {
            return null;
        }

        GatewayMetrics? m = null;
        try
        {
            var text = await http.GetStringAsync(new Uri(Endpoints.Http, "metrics"), ct).ConfigureAwait(false);
            m = GatewayMetrics.Parse(text);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
        }

        // The first answer decides: a later miss under load is a missed sample, not a gateway without /metrics.
        scrapes ??= m is not null;

        return m;
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            await Process.DisposeAsync().ConfigureAwait(false);
        }

        http.Dispose();
    }
}

/// <summary>Where a gateway answers: its HTTP base (health, <c>/metrics</c>) and its WebSocket endpoint.</summary>
internal sealed record GatewayEndpoints(Uri Http, Uri WebSocket)
{
    /// <summary>A gateway the harness starts on 127.0.0.1: protocol v1 puts the WebSocket at <c>/ws</c>.</summary>
    public static GatewayEndpoints Local(int port) =>
        new(new Uri($"http://127.0.0.1:{port}/"), new Uri($"ws://127.0.0.1:{port}/ws"));

    /// <summary>
    /// <c>--target</c>: a WebSocket URL (<c>ws://host:port/ws</c>, <c>wss://…</c>) is used as it is, with HTTP at
    /// the folder above it (an ingress may route the gateway under a prefix); an HTTP URL
    /// (<c>http://host:port/</c>) is the base, with the WebSocket at its <c>ws</c>.
    /// </summary>
    public static GatewayEndpoints FromTarget(string target)
    {
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss" or "http" or "https"))
        {
            throw new ArgumentException($"--target '{target}' is not a ws://, wss://, http:// or https:// URL");
        }

        var secure = uri.Scheme is "wss" or "https";
        if (uri.Scheme is "ws" or "wss")
        {
            var folder = uri.AbsolutePath[..(uri.AbsolutePath.LastIndexOf('/') + 1)];
            return new(new UriBuilder(uri) { Scheme = secure ? "https" : "http", Path = folder, Query = string.Empty }.Uri, uri);
        }

        var path = uri.AbsolutePath.EndsWith('/') ? uri.AbsolutePath : uri.AbsolutePath + "/";
        var http = new UriBuilder(uri) { Path = path, Query = string.Empty }.Uri;
        return new(http, new UriBuilder(http) { Scheme = secure ? "wss" : "ws", Path = path + "ws" }.Uri);
    }
}
