using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace MarketStream.LoadTests;

/// <summary>
/// The clients of a run: connects them at a chosen rate (the load simulation's ramp), keeps their receive
/// loops, counts what they get, and routes each quote's latency to the recorder of the client's group.
/// Recorders are null during ramp and warm-up, so those never reach the results.
/// </summary>
internal sealed class ClientFleet : IAsyncDisposable
{
    private readonly List<FeedSocket> sockets = [];
    private readonly List<Task> loops = [];
    private readonly CancellationTokenSource stop = new();
    private readonly HttpMessageInvoker invoker;
    private readonly ConcurrentDictionary<string, int> closes = new();
    private readonly ConcurrentQueue<string> errorSamples = new();
    private long frames;
    private long updateFrames;
    private long quotes;
    private long bytes;
    private long heartbeats;
    private long errors;
    private long slowCloses;
    private int nextSource;

    /// <summary>Whether each client offers permessage-deflate (the runtime's defaults, as a browser's).</summary>
    public bool Deflate { get; init; }

    /// <summary>With <see cref="Deflate"/>: the clients ask for <c>server_no_context_takeover</c> (every message compressed alone).</summary>
    public bool DeflatePerMessage { get; init; }

    public ClientFleet(Uri endpoint, int sourceAddresses)
    {
        Endpoint = endpoint;
        // Several loopback source addresses, so 20,000 connections to one port never run out of ephemeral ports.
        var sources = LoopbackSources.Addresses(sourceAddresses, first: 1);
        invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = (context, ct) => LoopbackSources.ConnectFromAsync(
                sources[(int)((uint)Interlocked.Increment(ref nextSource) % sources.Length)], context.DnsEndPoint, ct),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.Zero,
        });
    }

    public Uri Endpoint { get; }

    /// <summary>Latency of the clients that keep reading; null while not measuring.</summary>
    public volatile LatencyRecorder? Others;

    /// <summary>Latency of the clients told to stop reading; null while not measuring.</summary>
    public volatile LatencyRecorder? SlowGroup;

    /// <summary>A snapshot of the clients (the list grows while the ramp runs).</summary>
    public IReadOnlyList<FeedSocket> Sockets
    {
        get
        {
            lock (sockets)
            {
                return [.. sockets];
            }
        }
    }

    public long Frames => Interlocked.Read(ref frames);

    public long UpdateFrames => Interlocked.Read(ref updateFrames);

    public long Quotes => Interlocked.Read(ref quotes);

    public long Bytes => Interlocked.Read(ref bytes);

    public long Heartbeats => Interlocked.Read(ref heartbeats);

    /// <summary>Client errors: failed connects, error frames, and lost connections of clients that were reading.</summary>
    public long Errors => Interlocked.Read(ref errors);

    public long SlowCloses => Interlocked.Read(ref slowCloses);

    public IReadOnlyDictionary<string, int> Closes => closes;

    public IEnumerable<string> ErrorSamples => errorSamples;

    public int Open => Sockets.Count(s => !s.Closed);

    internal LatencyRecorder? LatencyFor(FeedSocket socket) => socket.Slow ? SlowGroup : Others;

    /// <summary>
    /// Connects <paramref name="count"/> clients, starting one every <c>ramp / count</c> with at most
    /// <paramref name="concurrency"/> handshakes in flight, and returns the achieved connect rate (per second).
    /// <paramref name="queryFor"/> gives each client's query (<c>?throttleMs=…</c>), added to <see cref="Endpoint"/>,
    /// the WebSocket URL itself, since a gateway behind an ingress need not serve it at <c>/ws</c>.
    /// </summary>
    public async Task<double> ConnectAsync(
        int count,
        Func<int, IReadOnlyList<string>> symbolsFor,
        Func<int, bool> isSlow,
        Func<int, string> queryFor,
        TimeSpan ramp,
        int concurrency,
        int initialBuffer,
        CancellationToken ct)
    {
        using var gate = new SemaphoreSlim(concurrency);
        var started = Stopwatch.StartNew();
        var pending = new List<Task>(count);
        var first = Sockets.Count;
        for (var i = 0; i < count; i++)
        {
            var due = ramp * ((double)i / count);
            var wait = due - started.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }

            await gate.WaitAsync(ct).ConfigureAwait(false);
            var index = first + i;
            var socket = new FeedSocket(this, index, isSlow(index), initialBuffer);
            lock (sockets)
            {
                sockets.Add(socket);
            }

            pending.Add(ConnectOneAsync(socket, new Uri(Endpoint, queryFor(index)), symbolsFor(index), gate, ct));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        return count / Math.Max(started.Elapsed.TotalSeconds, 1e-3);
    }

    private async Task ConnectOneAsync(FeedSocket socket, Uri uri, IReadOnlyList<string> symbols, SemaphoreSlim gate, CancellationToken ct)
    {
        try
        {
            await socket.ConnectAsync(uri, invoker, symbols, ct).ConfigureAwait(false);
            lock (loops)
            {
                loops.Add(Task.Run(() => socket.ReceiveLoopAsync(stop.Token), CancellationToken.None));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
        {
            if (ct.IsCancellationRequested)
            {
                throw;
            }

            RecordError($"connect #{socket.Index}: {ex.GetBaseException().Message}");
        }
        finally
        {
            gate.Release();
        }
    }

    public void OnFrame(string? type, int quoteCount, int length)
    {
        Interlocked.Increment(ref frames);
        Interlocked.Add(ref bytes, length);
        switch (type)
        {
            case "updates":
                Interlocked.Increment(ref updateFrames);
                Interlocked.Add(ref quotes, quoteCount);
                break;
            case "snapshot":
                Interlocked.Add(ref quotes, quoteCount);
                break;
            case "heartbeat":
                Interlocked.Increment(ref heartbeats);
                break;
        }
    }

    public void OnErrorFrame(FeedSocket socket, string? code) => RecordError($"#{socket.Index} error frame: {code}");

    public void OnClosed(FeedSocket socket, WebSocketCloseStatus? status)
    {
        var code = status is { } s ? ((int)s).ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
        closes.AddOrUpdate(code, 1, (_, n) => n + 1);
        if (socket.Slow)
        {
            Interlocked.Increment(ref slowCloses);
        }
        else if (!stop.IsCancellationRequested)
        {
            RecordError($"#{socket.Index} closed by the gateway with {code}");
        }
    }

    public void OnFailed(FeedSocket socket, Exception ex)
    {
        closes.AddOrUpdate("aborted", 1, (_, n) => n + 1);
        if (socket.Slow)
        {
            Interlocked.Increment(ref slowCloses);
        }
        else if (!stop.IsCancellationRequested)
        {
            RecordError($"#{socket.Index} connection lost: {ex.Message}");
        }
    }

    private void RecordError(string what)
    {
        if (Interlocked.Increment(ref errors) <= 20)
        {
            errorSamples.Enqueue(what);
        }
    }

    public void PauseSlow()
    {
        foreach (var s in Sockets.Where(s => s.Slow))
        {
            s.Pause();
        }
    }

    public void ResumeSlow()
    {
        foreach (var s in Sockets.Where(s => s.Slow))
        {
            s.Resume();
        }
    }

    /// <summary>Closes every socket (bounded in time), then ends the receive loops.</summary>
    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        ResumeSlow();
        var all0 = Sockets;
        var closing = all0.Select(s => s.CloseAsync(TimeSpan.FromSeconds(2)));
        await Task.WhenAny(Task.WhenAll(closing), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        Task[] all;
        lock (loops)
        {
            all = [.. loops];
        }

        await Task.WhenAny(Task.WhenAll(all), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        foreach (var s in all0)
        {
            s.Dispose();
        }

        invoker.Dispose();
        stop.Dispose();
    }
}
