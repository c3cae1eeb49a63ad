using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// Answers a connection's requests (PROTOCOL.md section 2): parses each client frame, enforces the request
/// rate, entitlements and the symbol limit, changes the subscriptions and settings, and queues the replies.
/// Runs on the connection's receive path; never writes to the transport itself.
/// </summary>
internal sealed partial class SessionRequests(
    string sessionId,
    SessionSubscriptions subscriptions,
    SessionSender sender,
    MarketState state,
    GatewayOptions options,
    Entitlements entitlements,
    TimeProvider time,
    ILogger logger)
{
    private readonly RequestRateLimiter rateLimiter = new(time, options.MaxRequestsPerSecond);
    private int consecutiveRejected;

    private Lock Gate => subscriptions.Gate;

    /// <summary>One text frame from the client: a request, answered by queueing replies.</summary>
    public void HandleFrame(ReadOnlySpan<byte> utf8)
    {
        if (!WithinRate(utf8))
        {
            return;
        }

        var request = ClientRequestParser.Parse(utf8, out var error);
        if (request is null)
        {
            LogBadRequest(logger, sessionId, error!.Message);
            EnqueueError(error.Id, ErrorCodes.BadRequest, error.Message);
            return;
        }

        switch (request.Op)
        {
            case ClientOp.Subscribe:
                Subscribe(request);
                break;
            case ClientOp.Unsubscribe:
                Unsubscribe(request);
                break;
            case ClientOp.Configure:
                Configure(request);
                break;
            case ClientOp.Ping:
                Enqueue("pong", w => ServerMessages.Pong(w, request.Id, Now()));
                break;
        }
    }

    /// <summary>A frame the protocol does not allow (binary): answered with <c>bad_request</c>.</summary>
    public void HandleBinaryFrame()
    {
        if (WithinRate(default))
        {
            EnqueueError(default, ErrorCodes.BadRequest, "binary frames are not part of the protocol; send text frames holding JSON");
        }
    }

    /// <summary>
    /// Every client frame counts against the request rate. Over it, the frame is refused with
    /// <c>rate_limited</c>; a client that keeps going regardless is closed with 4029.
    /// </summary>
    private bool WithinRate(ReadOnlySpan<byte> utf8)
    {
        if (rateLimiter.TryAcquire())
        {
            consecutiveRejected = 0;
            return true;
        }

        if (++consecutiveRejected > options.MaxRequestsPerSecond)
        {
            lock (Gate)
            {
                sender.BeginCloseLocked(CloseCodes.TooManyRequests, "too many requests");
            }

            return false;
        }

        var id = ClientRequestParser.Parse(utf8, out var bad)?.Id ?? bad?.Id ?? default;
        EnqueueError(id, ErrorCodes.RateLimited, $"more than {options.MaxRequestsPerSecond} requests per second");
        return false;
    }

    private void Subscribe(ClientRequest request)
    {
        var (valid, invalid) = Normalize(request.Symbols);
        var forbidden = valid.Where(s => !entitlements.Allows(s)).ToList();
        valid.RemoveAll(forbidden.Contains);
        lock (Gate)
        {
            if (sender.IsClosing)
            {
                return;
            }

            var added = valid.Where(s => !subscriptions.Contains(s)).ToList();
            if (subscriptions.Count + added.Count > options.MaxSymbolsPerConnection)
            {
                var held = subscriptions.Count;
                sender.EnqueueLocked("error", w => ServerMessages.Error(w, request.Id, ErrorCodes.TooManySymbols,
                    $"a connection may hold at most {options.MaxSymbolsPerConnection} symbols; it holds {held} and this request adds {added.Count}", added));
                EnqueueInvalidLocked(request.Id, invalid);
                return;
            }

            // Subscribing and queueing subscribed + snapshot under one lock, with replies always sent before
            // updates, is what keeps an update from ever preceding its snapshot.
            var snapshot = new List<Quote>(added.Count);
            foreach (var symbol in added)
            {
                if (subscriptions.Subscribe(symbol, state) is { } quote)
                {
                    snapshot.Add(quote);
                }
            }

            if (valid.Count > 0 || (invalid.Count == 0 && forbidden.Count == 0))
            {
                sender.EnqueueLocked("subscribed", w => ServerMessages.Subscribed(w, request.Id, valid));
                sender.EnqueueLocked("snapshot", w => ServerMessages.Snapshot(w, snapshot));
            }

            EnqueueInvalidLocked(request.Id, invalid);
            if (forbidden.Count > 0)
            {
                var message = $"not entitled to {string.Join(", ", forbidden.Select(s => $"'{s}'"))}";
                sender.EnqueueLocked("error", w => ServerMessages.Error(w, request.Id, ErrorCodes.Forbidden, message, forbidden));
            }
        }

        sender.Wake();
    }

    private void Unsubscribe(ClientRequest request)
    {
        var (valid, invalid) = Normalize(request.Symbols);
        lock (Gate)
        {
            if (sender.IsClosing)
            {
                return;
            }

            foreach (var symbol in valid)
            {
                subscriptions.Unsubscribe(symbol);
            }

            if (valid.Count > 0 || invalid.Count == 0)
            {
                sender.EnqueueLocked("unsubscribed", w => ServerMessages.Unsubscribed(w, request.Id, valid));
            }

            EnqueueInvalidLocked(request.Id, invalid);
        }

        sender.Wake();
    }

    private void Configure(ClientRequest request)
    {
        lock (Gate)
        {
            sender.ThrottleMs = request.ThrottleMs ?? sender.ThrottleMs;
            if (request.Policy is { } newPolicy)
            {
                subscriptions.ChangePolicy(newPolicy);
            }

            sender.Delta = request.Delta ?? sender.Delta;
            var (t, p) = (sender.ThrottleMs, subscriptions.Policy);
            bool? d = request.Delta is not null || sender.Delta ? sender.Delta : null;
            sender.EnqueueLocked("configured", w => ServerMessages.Configured(w, request.Id, t, p, d));
        }

        sender.Wake();
    }

    private static (List<string> Valid, List<string> Invalid) Normalize(IReadOnlyList<string> symbols)
    {
        var valid = new List<string>(symbols.Count);
        var invalid = new List<string>();
        foreach (var raw in symbols)
        {
            if (!Symbols.TryNormalize(raw, out var symbol))
            {
                invalid.Add(raw.Length <= 64 ? raw : raw[..64]);
            }
            else if (!valid.Contains(symbol))
            {
                valid.Add(symbol);
            }
        }

        return (valid, invalid);
    }

    private void EnqueueInvalidLocked(RequestId id, List<string> invalid)
    {
        if (invalid.Count == 0)
        {
            return;
        }

        var message = invalid.Count == 1
            ? $"'{invalid[0]}' is not a valid symbol"
            : $"{string.Join(", ", invalid.Select(s => $"'{s}'"))} are not valid symbols";
        sender.EnqueueLocked("error", w => ServerMessages.Error(w, id, ErrorCodes.InvalidSymbol, message, invalid));
    }

    private void EnqueueError(RequestId id, string code, string message) =>
        Enqueue("error", w => ServerMessages.Error(w, id, code, message));

    private void Enqueue(string type, Action<System.Text.Json.Utf8JsonWriter> write)
    {
        lock (Gate)
        {
            sender.EnqueueLocked(type, write);
        }

        sender.Wake();
    }

    private long Now() => ServerMessages.UnixMicros(time.GetUtcNow());

    [LoggerMessage(EventId = 500, Level = LogLevel.Debug, Message = "Session {SessionId}: bad request: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string sessionId, string reason);
}
