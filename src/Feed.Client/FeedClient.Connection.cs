using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>The connection loop: connect, resubscribe, receive until the connection ends, back off, repeat.</summary>
public sealed partial class FeedClient
{
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        var everConnected = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var end = new ConnectionEnd(DisconnectReason.ConnectFailed);
            FeedConnection? connection = null;
            try
            {
                connection = await FeedConnection.OpenAsync(BuildUri(), options, time, cancellationToken).ConfigureAwait(false);

                // What the server wrote deltas against is per connection: a new one starts from its snapshots.
                received.Clear();
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or TimeoutException or JsonException
                                           or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                end = new ConnectionEnd(DisconnectReason.ConnectFailed, null, ex);
            }

            if (connection is not null)
            {
                using (connection)
                {
                    // A hello resets the backoff. A gateway at its limit (1013) or draining (HTTP 503) never sends
                    // one, so those keep backing off.
                    attempt = 0;
                    everConnected = true;
                    end = await RunConnectionAsync(connection, cancellationToken).ConfigureAwait(false);
                }

                if (end.Reason == DisconnectReason.Stale)
                {
                    Counters.StaleDetected();
                }
            }

            if (cancellationToken.IsCancellationRequested || IsDisposing)
            {
                break;
            }

            SetState(everConnected ? ConnectionState.Reconnecting : ConnectionState.Connecting, end);
            try
            {
                await Task.Delay(backoff.Delay(attempt++), time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<ConnectionEnd> RunConnectionAsync(FeedConnection connection, CancellationToken cancellationToken)
    {
        List<PendingRequest> resend;
        List<string> symbols;
        bool accepted;
        lock (gate)
        {
            accepted = !disposed;
            if (accepted)
            {
                current = connection;
            }

            // Another stream (another cluster, a recreated topic): its seq starts anew, so the last seq of each
            // symbol from before would turn every new quote away. A gateway that tells no epoch changes nothing.
            if (connection.Hello.Epoch is { } epoch)
            {
                if (streamEpoch is not null && streamEpoch != epoch)
                {
                    sequences.Reset();
                    Counters.EpochChanged();
                }

                streamEpoch = epoch;
            }

            symbols = [.. wanted];
            resend = requests.All();
        }

        if (!accepted)
        {
            // Disposed while this connection came up: DisposeAsync saw no connection to close, so close it here.
            await connection.CloseAsync(options.CloseTimeout).ConfigureAwait(false);
            return new ConnectionEnd(DisconnectReason.Disposed, CloseCodes.Normal);
        }

        Counters.Connected();
        SetState(ConnectionState.Connected, new ConnectionEnd(DisconnectReason.None));
        var receiving = connection.RunAsync(OnMessage, cancellationToken);

        // The resubscribe first (it covers what earlier connections had), then what callers still await.
        foreach (var chunk in symbols.Chunk(ResubscribeChunk))
        {
            var id = requests.NextId();
            var request = new PendingRequest(id, RequestKind.Subscribe, RequestWriter.Subscribe(id, chunk), chunk, isInternal: true);
            requests.Add(request);
            await connection.TrySendAsync(request.Frame, cancellationToken).ConfigureAwait(false);
        }

        foreach (var request in resend)
        {
            if (request.IsInternal)
            {
                // An older connection's resubscribe: the one above replaces it.
                requests.Remove(request);
            }
            else
            {
                await connection.TrySendAsync(request.Frame, cancellationToken).ConfigureAwait(false);
            }
        }

        var end = await receiving.ConfigureAwait(false);
        lock (gate)
        {
            current = null;
        }

        return end;
    }

    private bool IsDisposing
    {
        get
        {
            lock (gate)
            {
                return disposed;
            }
        }
    }

    private Uri BuildUri()
    {
        var builder = new UriBuilder(options.Endpoint!);
        builder.Scheme = builder.Scheme switch
        {
            "http" => "ws",
            "https" => "wss",
            _ => builder.Scheme,
        };
        if (builder.Path is "" or "/")
        {
            builder.Path = "/ws";
        }

        var query = builder.Query.TrimStart('?');
        lock (gate)
        {
            if (throttleMs is { } t)
            {
                query = Append(query, "throttleMs=" + t.ToString(CultureInfo.InvariantCulture));
            }

            if (policy is { } p)
            {
                query = Append(query, "policy=" + p.Name());
            }

            if (options.Delta)
            {
                query = Append(query, "delta=true");
            }
        }

        builder.Query = query;
        return builder.Uri;

        static string Append(string query, string pair) => query.Length == 0 ? pair : query + "&" + pair;
    }

    private void SetState(ConnectionState next, ConnectionEnd end)
    {
        ConnectionState previous;
        TaskCompletionSource? connected = null;
        lock (gate)
        {
            previous = state;
            if (previous == next || previous == ConnectionState.Disposed)
            {
                return;
            }

            state = next;
            if (next is ConnectionState.Connected or ConnectionState.Disposed)
            {
                connected = connectedWaiter;
                connectedWaiter = null;
            }
        }

        if (next == ConnectionState.Disposed)
        {
            connected?.TrySetException(new ObjectDisposedException(nameof(FeedClient)));
        }
        else
        {
            connected?.TrySetResult();
        }

        Raise(StateChanged, new ConnectionStateChangedEventArgs(previous, next, end.Reason, end.CloseStatus, end.Exception));
    }

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
#pragma warning disable CA1031 // A handler's bug must not kill the connection loop: the client would silently stop reconnecting.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
