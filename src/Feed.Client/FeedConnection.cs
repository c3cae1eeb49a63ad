using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>How one connection ended.</summary>
internal sealed record ConnectionEnd(DisconnectReason Reason, int? CloseStatus = null, Exception? Exception = null);

/// <summary>
/// One WebSocket connection to a gateway: the upgrade and <c>hello</c>, the receive loop with its staleness
/// watchdog, serialized sends, and the client's side of the close handshake. It never reconnects; that is
/// <see cref="FeedClient"/>'s job.
/// </summary>
internal sealed class FeedConnection : IDisposable
{
    private readonly ClientWebSocket socket;
    private readonly FeedClientOptions options;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> message = new(16 * 1024);
    private readonly TaskCompletionSource<ConnectionEnd> ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long lastReceived;
    private volatile bool stale;

    private FeedConnection(ClientWebSocket socket, FeedClientOptions options, TimeProvider time)
    {
        this.socket = socket;
        this.options = options;
        this.time = time;
        lastReceived = time.GetTimestamp();
    }

    /// <summary>The server's <c>hello</c>.</summary>
    public ServerMessage Hello { get; private set; } = null!;

    /// <summary>Completes when the receive loop has finished.</summary>
    public Task<ConnectionEnd> Ended => ended.Task;

    /// <summary>Upgrades and waits for <c>hello</c>, all within <see cref="FeedClientOptions.ConnectTimeout"/>.</summary>
    public static async Task<FeedConnection> OpenAsync(Uri uri, FeedClientOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(ServerMessages.Protocol);
        if (options.Compression)
        {
            // The server answers with client_no_context_takeover; the defaults otherwise (32 KiB windows).
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        options.ConfigureWebSocket?.Invoke(socket.Options);
        var connection = new FeedConnection(socket, options, time);
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await socket.ConnectAsync(uri, options.HttpInvoker, linked.Token).ConfigureAwait(false);
            var hello = await connection.ReceiveMessageAsync(linked.Token).ConfigureAwait(false);
            if (hello?.Type != ServerMessageType.Hello || hello.HeartbeatMs is not > 0)
            {
                throw new WebSocketException(WebSocketError.InvalidState,
                    hello is null ? $"the server closed the connection ({socket.CloseStatus}) before hello" : "the first message was not a hello");
            }

            connection.Hello = hello;
            return connection;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            connection.Dispose();
            throw new TimeoutException($"no connection and hello within {options.ConnectTimeout}");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Receives until the connection ends, handing each message to <paramref name="onMessage"/>. Never throws:
    /// how the connection ended is the result. A watchdog aborts the socket once it has been silent for
    /// <see cref="FeedClientOptions.StaleFactor"/> heartbeats.
    /// </summary>
    public async Task<ConnectionEnd> RunAsync(Action<ServerMessage> onMessage, CancellationToken cancellationToken)
    {
        var staleAfter = TimeSpan.FromMilliseconds(Hello.HeartbeatMs!.Value * options.StaleFactor);

        // Checking a few times per stale window detects staleness within about a quarter window late, and costs
        // nothing per message (the receive loop only stamps the time).
        var period = staleAfter / 4;
        using var watchdog = time.CreateTimer(static s => ((FeedConnection)s!).CheckStale(), this, period, period);
        ConnectionEnd end;
        try
        {
            while (true)
            {
                var next = await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    end = new ConnectionEnd(DisconnectReason.ServerClosed, (int?)socket.CloseStatus);
                    break;
                }

                onMessage(next);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or JsonException or ObjectDisposedException or InvalidOperationException)
        {
            socket.Abort();
            end = stale ? new ConnectionEnd(DisconnectReason.Stale, null, ex) : new ConnectionEnd(DisconnectReason.ConnectionLost, null, ex);
        }

        ended.TrySetResult(end);
        return end;
    }

    /// <summary>Sends one request. A failure is not thrown: the receive loop sees the broken socket and ends.</summary>
    public async Task<bool> TrySendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        try
        {
            await sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
                return true;
            }
            finally
            {
                sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Closes with 1000: sends the close frame, then lets the receive loop read the server's close, so the
    /// handshake completes; aborts if that takes longer than <paramref name="timeout"/>.
    /// </summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout, time);
        try
        {
            await sendLock.WaitAsync(cts.Token).ConfigureAwait(false);
            try
            {
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client disposed", cts.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                sendLock.Release();
            }

            await ended.Task.WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }

    public void Dispose()
    {
        socket.Dispose();
        sendLock.Dispose();
    }

    private void CheckStale()
    {
        var silent = time.GetElapsedTime(Interlocked.Read(ref lastReceived));
        if (silent > TimeSpan.FromMilliseconds(Hello.HeartbeatMs!.Value * options.StaleFactor))
        {
            stale = true;
            socket.Abort();
        }
    }

    /// <summary>The next whole message, parsed; null once the server has closed.</summary>
    private async Task<ServerMessage?> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        message.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(message.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref lastReceived, time.GetTimestamp());
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Advance(result.Count);
            if (message.WrittenCount > options.MaxMessageBytes)
            {
                throw new WebSocketException(WebSocketError.Faulted, $"a server message is larger than {options.MaxMessageBytes} bytes");
            }

            if (result.EndOfMessage)
            {
                return ServerMessageParser.Parse(message.WrittenSpan);
            }
        }
    }
}
