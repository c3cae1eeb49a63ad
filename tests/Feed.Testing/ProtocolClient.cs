using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace MarketStream.Testing;

/// <summary>
/// A WebSocket client that knows only PROTOCOL.md: sends JSON text frames, receives one JSON object per frame.
/// Optionally with a tiny socket receive buffer, so that a client that stops reading quickly pushes back on
/// the server, as a slow terminal on a real network would.
/// </summary>
public sealed class ProtocolClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);
    private readonly ClientWebSocket socket;
    private readonly byte[] buffer = new byte[1 << 20];

    private ProtocolClient(ClientWebSocket socket) => this.socket = socket;

    public WebSocket Socket => socket;

    public WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

    /// <summary>The session id from <c>hello</c>, once it has been received.</summary>
    public string? SessionId { get; private set; }

    public static async Task<ProtocolClient> ConnectAsync(
        Uri gateway, string query = "", bool smallReceiveBuffer = false, string? subProtocol = "marketstream.v1", Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        configure?.Invoke(socket.Options);
        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }

        var uri = new UriBuilder(gateway) { Scheme = gateway.Scheme == "https" ? "wss" : "ws", Path = "/ws", Query = query }.Uri;
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        if (smallReceiveBuffer)
        {
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                    await s.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(s, ownsSocket: true);
                },
            };
            using var invoker = new HttpMessageInvoker(handler);
            await socket.ConnectAsync(uri, invoker, timeout.Token);
        }
        else
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }

        return new ProtocolClient(socket);
    }

    public Task SendAsync(string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(DefaultTimeout);

    public Task SendBinaryAsync(byte[] data) =>
        socket.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None).WaitAsync(DefaultTimeout);

    /// <summary>The next message, or null once the server has closed (see <see cref="CloseStatus"/>).</summary>
    public async Task<JsonElement?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var count = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(count), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no message within {timeout ?? DefaultTimeout}");
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
                var message = JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
                if (message.Type() == "hello")
                {
                    SessionId = message.GetProperty("sessionId").GetString();
                }

                return message;
            }
        }
    }

    /// <summary>Receives until a message of <paramref name="type"/> arrives, returning it and what came before.</summary>
    public async Task<(JsonElement Message, List<JsonElement> Before)> ReceiveUntilAsync(string type, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        var before = new List<JsonElement>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var message = await ReceiveAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1))
                ?? throw new InvalidOperationException($"closed with {CloseStatus} before a '{type}' arrived");
            if (message.Type() == type)
            {
                return (message, before);
            }

            before.Add(message);
        }
    }

    /// <summary>Reads until the server's close frame; returns its close status.</summary>
    public async Task<int> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (await ReceiveAsync(deadline - DateTime.UtcNow) is not null)
        {
        }

        return (int)socket.CloseStatus!.Value;
    }

    public async ValueTask DisposeAsync()
    {
        await socket.CloseQuietlyAsync();

        socket.Abort();
        socket.Dispose();
    }
}

public static class ProtocolJsonExtensions
{
    /// <summary>Ends a test client's side of the connection: a normal close frame if it is still open, best effort, 2 s at most.</summary>
    public static async Task CloseQuietlyAsync(this WebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.State == WebSocketState.Open)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // Best effort.
            }
        }
    }

    public static string? Type(this JsonElement message) =>
        message.TryGetProperty("type", out var t) ? t.GetString() : null;

    public static IEnumerable<JsonElement> Quotes(this JsonElement message) =>
        message.GetProperty("quotes").EnumerateArray();

    public static int IntOr0(this JsonElement quote, string name) =>
        quote.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
}
