using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace MarketStream.LoadTests;

/// <summary>
/// One terminal, as lean as a client can be: a raw <see cref="ClientWebSocket"/> that subscribes once and then
/// reads frames, counting them and timing every quote in an <c>updates</c> frame. Not <c>Feed.Client</c>: that
/// library reconnects, resubscribes and buffers by itself, which would hide the very disconnects a scenario
/// counts, and its per-quote objects would make the harness, not the gateway, the bottleneck at 20,000 sockets.
/// </summary>
internal sealed class FeedSocket : IDisposable
{
    private readonly ClientWebSocket socket = new();
    private readonly ClientFleet fleet;
    private byte[] buffer;
    private volatile TaskCompletionSource? paused;

    public FeedSocket(ClientFleet fleet, int index, bool slow, int initialBuffer)
    {
        this.fleet = fleet;
        Index = index;
        Slow = slow;
        buffer = ArrayPool<byte>.Shared.Rent(initialBuffer);
        socket.Options.AddSubProtocol("marketstream.v1");
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (fleet.Deflate)
        {
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions { ServerContextTakeover = !fleet.DeflatePerMessage };
        }
    }

    public int Index { get; }

    /// <summary>One of the clients a scenario makes stop reading.</summary>
    public bool Slow { get; }

    public bool Subscribed { get; private set; }

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public bool Closed { get; private set; }

    public async Task ConnectAsync(Uri uri, HttpMessageInvoker invoker, IReadOnlyList<string> symbols, CancellationToken ct)
    {
        await socket.ConnectAsync(uri, invoker, ct).ConfigureAwait(false);
        var request = new ArrayBufferWriter<byte>(64 + symbols.Count * 12);
        using (var w = new Utf8JsonWriter(request))
        {
            w.WriteStartObject();
            w.WriteString("op"u8, "subscribe"u8);
            w.WriteNumber("id"u8, 1);
            w.WriteStartArray("symbols"u8);
            foreach (var s in symbols)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        await socket.SendAsync(request.WrittenMemory, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
    }

    /// <summary>Stops reading (the socket's buffers fill, then the gateway's send stalls) until <see cref="Resume"/>.</summary>
    public void Pause() => paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Resume() => Interlocked.Exchange(ref paused, null)?.TrySetResult();

    /// <summary>Reads until the server closes the socket or <paramref name="ct"/> ends the run.</summary>
    public async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var count = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (paused is { } p)
                {
                    await p.Task.WaitAsync(ct).ConfigureAwait(false);
                }

                if (count == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var result = await socket.ReceiveAsync(buffer.AsMemory(count), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = socket.CloseStatus;
                    Closed = true;
                    fleet.OnClosed(this, socket.CloseStatus);
                    return;
                }

                count += result.Count;
                if (result.EndOfMessage)
                {
                    OnFrame(buffer.AsSpan(0, count));
                    count = 0;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (WebSocketException ex)
        {
            Closed = true;
            fleet.OnFailed(this, ex);
        }
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        var now = Clock.UnixMicros();
        var reader = new Utf8JsonReader(frame);
        string? type = null;
        var quotes = 0;
        var latency = fleet.LatencyFor(this);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = TypeName(ref reader);
                }
                else if (reader.ValueTextEquals("quotes"u8))
                {
                    reader.Read();
                    quotes = ReadQuotes(ref reader, type == "updates" ? latency : null, now);
                }
                else if (reader.ValueTextEquals("code"u8))
                {
                    reader.Read();
                    fleet.OnErrorFrame(this, reader.GetString());
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            fleet.OnErrorFrame(this, "unparseable frame");
            return;
        }

        if (type == "subscribed")
        {
            Subscribed = true;
        }

        fleet.OnFrame(type, quotes, frame.Length);
    }

    private static string TypeName(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("updates"u8) ? "updates"
        : reader.ValueTextEquals("heartbeat"u8) ? "heartbeat"
        : reader.ValueTextEquals("snapshot"u8) ? "snapshot"
        : reader.GetString() ?? string.Empty;

    private static int ReadQuotes(ref Utf8JsonReader reader, LatencyRecorder? latency, long now)
    {
        var quotes = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            quotes++;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isTs = reader.ValueTextEquals("ts"u8);
                reader.Read();
                if (isTs && latency is not null)
                {
                    latency.Record(now - reader.GetInt64());
                }
            }
        }

        return quotes;
    }

    public async Task CloseAsync(TimeSpan timeout)
    {
        if (socket.State != WebSocketState.Open)
        {
            return;
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "run over", cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Ending the run: an unclean close changes nothing measured.
        }
    }

    public void Dispose()
    {
        socket.Abort();
        socket.Dispose();
        var b = Interlocked.Exchange(ref buffer, []);
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    internal static string Describe(ReadOnlySpan<byte> frame) => Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 200)]);
}

/// <summary>The clock the producer stamps ticks with: Unix epoch microseconds of the system's real-time clock.</summary>
internal static class Clock
{
    public static long UnixMicros() => MarketStream.Contracts.ServerMessages.UnixMicros(DateTimeOffset.UtcNow);
}
