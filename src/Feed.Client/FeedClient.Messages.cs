using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>What the client does with each server message (on the receive loop).</summary>
public sealed partial class FeedClient
{
    private void OnMessage(ServerMessage message)
    {
        switch (message.Type)
        {
            case ServerMessageType.Snapshot:
                Deliver(message.Quotes, isSnapshot: true);
                if (requests.TakeSnapshotWaiter() is { } waiter && Covers(waiter.Confirmed, waiter.Symbols))
                {
                    Complete(waiter, message);
                }

                break;
            case ServerMessageType.Updates:
                Deliver(message.Quotes, isSnapshot: false);
                break;
            case ServerMessageType.Status:
                Raise(FeedStatusChanged, new FeedStatusChangedEventArgs(
                    string.Equals(message.Feed, "stale", StringComparison.Ordinal),
                    message.Since is { } since ? DateTimeOffset.UnixEpoch.AddTicks(since * 10) : null));
                break;
            case ServerMessageType.Subscribed:
                if (requests.Find(message.Id) is { Kind: RequestKind.Subscribe } subscribe)
                {
                    // Complete on the snapshot that follows, so its quotes are buffered when the caller resumes;
                    // if some symbols are missing, an error for them follows instead.
                    subscribe.Confirmed = message.Symbols ?? [];
                    requests.ExpectSnapshotFor(subscribe);
                }

                break;
            case ServerMessageType.Unsubscribed:
            case ServerMessageType.Configured:
                if (requests.Find(message.Id) is { } answered)
                {
                    Complete(answered, message);
                }

                break;
            case ServerMessageType.Error:
                OnError(message);
                break;
            default:
                // heartbeat and pong only prove liveness (the connection stamps every message); unknown types are
                // extensions a v1 client ignores.
                break;
        }
    }

    private void Deliver(List<QuoteUpdate>? quotes, bool isSnapshot)
    {
        if (quotes is null)
        {
            return;
        }

        foreach (var sent in quotes)
        {
            Counters.QuoteReceived();

            // The server writes a delta against the last quote of the symbol it sent on this connection, whether
            // or not the filter below lets that one through; a snapshot (and any complete quote) simply replaces it.
            var update = sent;
            if (!isSnapshot && received.TryGetValue(sent.Symbol, out var before))
            {
                update = sent with { Quote = before.Apply(sent.Quote) };
            }

            received[sent.Symbol] = update.Quote;
            bool subscribed;
            lock (gate)
            {
                subscribed = wanted.Contains(update.Symbol);
            }

            // An update in flight when the caller unsubscribed is not delivered; a replay is not either.
            if (!subscribed || !sequences.TryAdvance(update.Symbol, update.Seq))
            {
                Counters.QuoteNotNewer();
                continue;
            }

            buffer.Add(isSnapshot ? update with { IsSnapshot = true } : update);
        }
    }

    private void OnError(ServerMessage message)
    {
        var error = FeedRequestException.For(message.Code ?? ErrorCodes.BadRequest, message.Message ?? "server error", message.Symbols);
        var request = requests.Find(message.Id);
        if (request is null)
        {
            Raise(ServerError, error);
            return;
        }

        requests.Remove(request);
        if (request.Kind == RequestKind.Subscribe && (!request.IsInternal || IsRefusal(error.Code)))
        {
            // Forget what the server refused, so that reconnects do not ask for it again: a caller's newly added
            // symbols on any error (it gets the exception), a resubscribed symbol only when the server refuses
            // it outright. Symbols the server confirmed in the same request stay.
            var named = message.Symbols is { Count: > 0 } ? message.Symbols : request.Symbols;
            var refused = named
                .Where(s => request.Confirmed?.Contains(s) != true)
                .Where(s => request.IsInternal || request.NewlyAdded.Contains(s))
                .ToList();
            lock (gate)
            {
                wanted.ExceptWith(refused);
            }
        }

        if (request.IsInternal)
        {
            Raise(ServerError, error);
        }
        else
        {
            request.Completion.TrySetException(error);
        }
    }

    private void Complete(PendingRequest request, ServerMessage reply)
    {
        if (requests.Remove(request))
        {
            request.Completion.TrySetResult(reply);
        }
    }

    private static bool IsRefusal(string code) =>
        code is ErrorCodes.InvalidSymbol or ErrorCodes.TooManySymbols or ErrorCodes.Forbidden;

    private static bool Covers(IReadOnlyList<string>? confirmed, IReadOnlyList<string> requested) =>
        confirmed is not null && requested.All(confirmed.Contains);
}
