using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MarketStream.Client.Tests;

/// <summary>
/// A tiny Kestrel WebSocket server that speaks just enough of the protocol to corner the client: it sends a
/// <c>hello</c> and then stays silent (no heartbeats, no replies), or refuses every upgrade with HTTP 503. It
/// records the close status each connection ended with, as the server saw it.
/// </summary>
internal sealed class FakeFeedServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly int heartbeatMs;
    private int attempts;

    private FakeFeedServer(int heartbeatMs, bool refuse)
    {
        this.heartbeatMs = heartbeatMs;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", refuse ? RefuseAsync : AcceptAsync);
    }

    public Uri Address => new(app.Urls.Single());

    /// <summary>Upgrade requests seen (accepted or refused).</summary>
    public int Attempts => Volatile.Read(ref attempts);

    /// <summary>How each connection ended: the client's close status, or null when the client aborted.</summary>
    public ConcurrentQueue<WebSocketCloseStatus?> Closes { get; } = new();

    /// <summary>A server that sends <c>hello</c> with <paramref name="heartbeatMs"/> and then nothing at all.</summary>
    public static Task<FakeFeedServer> StartSilentAsync(int heartbeatMs) => StartAsync(new FakeFeedServer(heartbeatMs, refuse: false));

    /// <summary>A server that answers every upgrade with HTTP 503, as a draining gateway does.</summary>
    public static Task<FakeFeedServer> StartRefusingAsync() => StartAsync(new FakeFeedServer(5000, refuse: true));

    private static async Task<FakeFeedServer> StartAsync(FakeFeedServer server)
    {
        await server.app.StartAsync().WaitAsync(Wait.Timeout);
        return server;
    }

    private Task RefuseAsync(HttpContext context)
    {
        Interlocked.Increment(ref attempts);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    private async Task AcceptAsync(HttpContext context)
    {
        Interlocked.Increment(ref attempts);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(ServerMessages.Protocol);
        var hello = $$"""{"type":"hello","protocol":"marketstream.v1","sessionId":"fake","throttleMs":100,"policy":"conflate","heartbeatMs":{{heartbeatMs}},"serverTime":1}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes(hello), WebSocketMessageType.Text, true, context.RequestAborted);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Closes.Enqueue(result.CloseStatus);
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            Closes.Enqueue(null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().WaitAsync(Wait.Timeout);
        await app.DisposeAsync().AsTask().WaitAsync(Wait.Timeout);
    }
}
