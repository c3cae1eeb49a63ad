using System.Net.WebSockets;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Testing;

/// <summary>One server message and when it arrived (Unix microseconds, the protocol's clock).</summary>
public sealed record Received(long AtMicros, string Type, JsonElement Message);

/// <summary>One quote out of an <c>updates</c> or <c>snapshot</c> frame, with the frame's arrival time.</summary>
public sealed record ReceivedQuote(long AtMicros, string Symbol, long Seq, long Ts, string? Last, int Dropped, bool Snapshot);

/// <summary>
/// A <see cref="ProtocolClient"/> read in the background: every message is recorded with its arrival time, so a
/// test can assert on the whole stream (gaps between messages, every quote) while it does other things.
/// </summary>
public sealed class StreamRecorder : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ProtocolClient client;
    private readonly List<Received> messages = [];
    private readonly Lock gate = new();
    private readonly Task loop;

    private StreamRecorder(ProtocolClient client)
    {
        this.client = client;
        loop = Task.Run(ReceiveLoop);
    }

    public WebSocketState State => client.Socket.State;

    public WebSocketCloseStatus? CloseStatus => client.CloseStatus;

    /// <summary>Set once the receive loop has ended (close frame, abort, or error).</summary>
    public bool Ended { get; private set; }

    public static async Task<StreamRecorder> ConnectAsync(Uri gateway, string query = "") =>
        new(await ProtocolClient.ConnectAsync(gateway, query));

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
        .SelectMany(m => m.Message.Quotes().Select(q => new ReceivedQuote(
            m.AtMicros,
            q.GetProperty("symbol").GetString()!,
            q.GetProperty("seq").GetInt64(),
            q.GetProperty("ts").GetInt64(),
            q.TryGetProperty("last", out var last) ? last.GetRawText() : null,
            q.IntOr0("dropped"),
            m.Type == "snapshot")))];

    public Task SendAsync(string json) => client.SendAsync(json);

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
        try
        {
            while (await client.ReceiveAsync(System.Threading.Timeout.InfiniteTimeSpan) is { } message)
            {
                var at = ServerMessages.UnixMicros(DateTimeOffset.UtcNow);
                lock (gate)
                {
                    messages.Add(new Received(at, message.Type() ?? "", message));
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or TimeoutException or JsonException)
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
        await client.DisposeAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
