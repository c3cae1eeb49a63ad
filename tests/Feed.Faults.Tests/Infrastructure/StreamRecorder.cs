using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Faults.Tests.Infrastructure;

/// <summary>One server message and when it arrived (Unix microseconds, the protocol's clock).</summary>
internal sealed record Received(long AtMicros, string Type, JsonElement Message);

/// <summary>One quote out of an <c>updates</c> or <c>snapshot</c> frame, with the frame's arrival time.</summary>
internal sealed record ReceivedQuote(long AtMicros, string Symbol, long Seq, long Ts, string? Last, int Dropped, bool Snapshot);

/// <summary>
/// A WebSocket client that knows only PROTOCOL.md and records every message in the background, so a test can
/// assert on the whole stream (gaps between messages, every quote) while it does other things.
/// </summary>
internal sealed class StreamRecorder : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ClientWebSocket socket;
    private readonly List<Received> messages = [];
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    private StreamRecorder(ClientWebSocket socket)
    {
        this.socket = socket;
        loop = Task.Run(ReceiveLoop);
    }

    public WebSocketState State => socket.State;

    public WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

    /// <summary>Set once the receive loop has ended (close frame, abort, or error).</summary>
    public bool Ended { get; private set; }

    public static async Task<StreamRecorder> ConnectAsync(Uri gateway, string query = "")
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("marketstream.v1");
        var uri = new UriBuilder(gateway) { Scheme = "ws", Path = "/ws", Query = query }.Uri;
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(uri, cts.Token).WaitAsync(Timeout);
        return new StreamRecorder(socket);
    }

    public Received[] Messages
    {
        get
        {
            lock (gate)
            {
                return [.. messages];
            }
        }
    }

    public ReceivedQuote[] Quotes => [.. Messages
        .Where(m => m.Type is "updates" or "snapshot")
        .SelectMany(m => m.Message.GetProperty("quotes").EnumerateArray().Select(q => new ReceivedQuote(
            m.AtMicros,
            q.GetProperty("symbol").GetString()!,
            q.GetProperty("seq").GetInt64(),
            q.GetProperty("ts").GetInt64(),
            q.TryGetProperty("last", out var last) ? last.GetRawText() : null,
            q.TryGetProperty("dropped", out var dropped) ? dropped.GetInt32() : 0,
            m.Type == "snapshot")))];

    public Task SendAsync(string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(Timeout);

    /// <summary>Subscribes and waits for the <c>subscribed</c> reply.</summary>
    public async Task SubscribeAsync(params string[] symbols)
    {
        var id = Random.Shared.Next(1, int.MaxValue);
        await SendAsync(JsonSerializer.Serialize(new { op = "subscribe", id, symbols }));
        await WaitForAsync(m => m.Type == "subscribed" && m.Message.GetProperty("id").GetInt32() == id, "subscribed", Timeout);
    }

    public Task WaitForAsync(Func<Received, bool> predicate, string what, TimeSpan timeout) =>
        Eventually.Holds(() => Messages.Any(predicate), what, timeout);

    private async Task ReceiveLoop()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(count), stop.Token);
                    count += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var at = ServerMessages.UnixMicros(DateTimeOffset.UtcNow);
                var message = JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
                var type = message.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
                lock (gate)
                {
                    messages.Add(new Received(at, type, message));
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
        {
            // The stream ended; State and CloseStatus say how.
        }
        finally
        {
            Ended = true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await socket.CloseQuietlyAsync();

        await stop.CancelAsync();
        socket.Abort();
        await loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        socket.Dispose();
        stop.Dispose();
    }
}
