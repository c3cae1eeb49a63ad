using System.Buffers;
using System.Net.WebSockets;
using MarketStream.Contracts;
using MarketStream.Gateway.Http;
using MarketStream.Gateway.Security;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// <c>GET /ws</c> (PROTOCOL.md section 2): checks the connect-time settings, takes a connection slot, upgrades,
/// runs the session's sender beside a receive loop, and cleans up whichever way the connection ends.
/// </summary>
internal sealed partial class WebSocketEndpoint(
    IOptions<AuthOptions> auth,
    SessionHost host,
    SessionRegistry registry,
    GatewayStats stats,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<WebSocketEndpoint> logger)
{
    private readonly GatewayOptions options = options.Value;
    private Func<Session, Task>? receive;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status426UpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket: send an upgrade request").ConfigureAwait(false);
            return;
        }

        if (registry.IsDraining)
        {
            context.Response.Headers.RetryAfter = "1";
            await HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "unavailable", "the server is shutting down; connect to another replica").ConfigureAwait(false);
            return;
        }

        if (!ConnectSettings.TryRead(ConnectSettings.Query(context), options, out var throttleMs, out var policy, out var problem))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, problem!).ConfigureAwait(false);
            return;
        }

        // The bearer subprotocol is read by authentication and never selected: the gateway answers with
        // marketstream.v1, so a client that offers a token this way must offer marketstream.v1 too (a browser
        // fails a handshake that selects none of the subprotocols it offered).
        var requested = context.WebSockets.WebSocketRequestedProtocols;
        var speaksProtocol = requested.Contains(ServerMessages.Protocol);
        if (!speaksProtocol && BearerSubprotocol.IsOffered(requested))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest,
                $"offer the {ServerMessages.Protocol} subprotocol beside the bearer one").ConfigureAwait(false);
            return;
        }

        var accept = new WebSocketAcceptContext
        {
            SubProtocol = speaksProtocol ? ServerMessages.Protocol : null,
        };

        var identity = ConnectionIdentity.Of(context, auth.Value.Enabled);
        var reservation = registry.TryReserve(identity);
        if (reservation is Reservation.AddressLimit or Reservation.SubjectLimit)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, "too_many_connections",
                reservation == Reservation.AddressLimit ? "too many connections from this address" : "too many connections for this user").ConfigureAwait(false);
            return;
        }

        if (reservation == Reservation.GatewayFull)
        {
            // The protocol answers a full gateway with close code 1013, so a client knows to retry later.
            using var refused = await context.WebSockets.AcceptWebSocketAsync(accept).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.CloseTimeoutMs), time);
            try
            {
                await refused.CloseAsync((WebSocketCloseStatus)CloseCodes.TryAgainLater, "connection limit reached", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
                refused.Abort();
            }

            stats.ConnectionRefused();
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(accept).ConfigureAwait(false);
            // One delegate for every connection (the socket is the session's transport), so a connection carries
            // no closure of its own.
            receive ??= session => ReceiveAsync(((WebSocketTransport)session.Transport).Socket, session);
            await host.RunAsync(new WebSocketTransport(socket), throttleMs, policy, identity, receive).ConfigureAwait(false);
        }
        finally
        {
            registry.Release(identity);
        }
    }

    /// <remarks>
    /// Nothing here waits on the request's abort token: a connection that ends fails the pending receive by
    /// itself, and the session ends its own by aborting the socket. Reading <c>RequestAborted</c> would make a
    /// token source per connection and register on it with every receive, memory an idle connection keeps.
    /// </remarks>
    private async Task ReceiveAsync(WebSocket socket, Session session)
    {
        var cancellationToken = CancellationToken.None;
        try
        {
            while (true)
            {
                // Wait for the next frame without holding a buffer: an idle connection costs no receive memory.
                var first = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                if (first.MessageType == WebSocketMessageType.Close)
                {
                    session.BeginClose(ClientCloseCode(socket), "client closed");
                    return;
                }

                if (!await ReadMessageAsync(socket, session, first, cancellationToken).ConfigureAwait(false))
                {
                    await DiscardUntilCloseAsync(socket, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished, or the session aborted the socket after its close timeout.
            session.BeginClose(CloseCodes.Abnormal, "connection lost");
        }
    }

    /// <summary>Reads one whole message and hands it to the session; false when the connection is to be closed.</summary>
    private async Task<bool> ReadMessageAsync(WebSocket socket, Session session, ValueWebSocketReceiveResult first, CancellationToken cancellationToken)
    {
        var limit = options.MaxFrameBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(limit + 1);

        // A frame that has begun must end within the frame timeout, or a client trickling bytes would hold
        // this receive path forever. The close goes out through the sender; the socket is aborted after the
        // close timeout if the client still does not finish.
        using var frameTimer = first.EndOfMessage
            ? null
            : time.CreateTimer(static s => ((Session)s!).BeginClose(CloseCodes.PolicyViolation, "frame not completed in time"), session,
                TimeSpan.FromMilliseconds(options.FrameTimeoutMs), Timeout.InfiniteTimeSpan);
        try
        {
            var count = first.Count;
            var end = first.EndOfMessage;
            while (!end)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(count, limit + 1 - count), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    session.BeginClose(ClientCloseCode(socket), "client closed");
                    return false;
                }

                count += result.Count;
                end = result.EndOfMessage;
                if (count > limit)
                {
                    LogFrameTooBig(logger, session.Id, limit);
                    session.BeginClose(CloseCodes.MessageTooBig, $"frame larger than {limit} bytes");
                    return false;
                }
            }

            if (first.MessageType == WebSocketMessageType.Binary)
            {
                session.HandleBinaryFrame();
            }
            else
            {
                session.HandleFrame(buffer.AsSpan(0, count));
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The server answers a client's close with the client's own code (RFC 6455 section 5.5.1), so metrics show why clients leave.</summary>
    private static int ClientCloseCode(WebSocket socket) => socket.CloseStatus is { } status ? (int)status : CloseCodes.Normal;

    /// <summary>After the server decided to close, reads (and ignores) what the client still sends until its close frame.</summary>
    private static async Task DiscardUntilCloseAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        if (socket.State != WebSocketState.Open && socket.State != WebSocketState.CloseSent)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(scratch.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Session {SessionId}: frame over {Limit} bytes; closing with 1009")]
    private static partial void LogFrameTooBig(ILogger logger, string sessionId, int limit);
}

/// <summary>The connect-time settings of the query string: <c>/ws?throttleMs=250&amp;policy=conflate</c>.</summary>
internal static class ConnectSettings
{
    /// <summary>
    /// The request's query, parsed for this look only. <c>HttpRequest.Query</c> would keep its parsed collection
    /// for the life of the request, which for a stream is the life of the connection.
    /// </summary>
    public static IQueryCollection Query(HttpContext context) =>
        new QueryCollection(QueryHelpers.ParseQuery(context.Request.QueryString.Value));

    public static bool TryRead(IQueryCollection query, GatewayOptions options, out int throttleMs, out DeliveryPolicy policy, out string? problem)
    {
        throttleMs = options.ThrottleMs;
        policy = options.DefaultPolicy;
        problem = null;
        if (query.TryGetValue("throttleMs", out var t))
        {
            if (!int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out throttleMs)
                || throttleMs is < ThrottleLimits.MinMs or > ThrottleLimits.MaxMs)
            {
                problem = $"throttleMs must be an integer from {ThrottleLimits.MinMs} to {ThrottleLimits.MaxMs}";
                return false;
            }
        }

        if (query.TryGetValue("policy", out var p) && !DeliveryPolicies.TryParse(p, out policy))
        {
            problem = $"policy must be one of: {DeliveryPolicies.Names}";
            return false;
        }

        return true;
    }
}
