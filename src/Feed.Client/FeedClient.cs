using System.Runtime.CompilerServices;
using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>
/// A MarketStream client (PROTOCOL.md section 2): keeps one WebSocket connection to a gateway alive,
/// reconnecting with exponential backoff and jitter and resubscribing on its own; delivers quotes through a
/// bounded latest-wins buffer as an async stream, newest <c>seq</c> only; detects stale connections from
/// heartbeats. Thread-safe.
/// </summary>
/// <remarks>
/// <c>seq</c> is derived from the tick's Kafka offset, so it is comparable only within one Kafka topic: a
/// client moved to a gateway reading another cluster would see lower numbers and discard them as old.
/// </remarks>
public sealed partial class FeedClient : IAsyncDisposable
{
    // Resubscribes go out in chunks, so that no request frame nears the server's 16 KiB frame limit.
    private const int ResubscribeChunk = 256;

    private readonly FeedClientOptions options;
    private readonly TimeProvider time;
    private readonly Backoff backoff;
    private readonly QuoteBuffer buffer;
    private readonly SequenceFilter sequences = new();

    // The last quote of each symbol this connection received, complete: what the next delta applies to. Only the
    // receive loop touches it.
    private readonly Dictionary<string, Quote> received = new(StringComparer.Ordinal);

    // The epoch of the stream the last seq values came from; under the gate.
    private string? streamEpoch;
    private readonly PendingRequests requests = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock gate = new();

    // Guarded by gate.
    private readonly HashSet<string> wanted = new(StringComparer.Ordinal);
    private int? throttleMs;
    private DeliveryPolicy? policy;
    private ConnectionState state = ConnectionState.Connecting;
    private FeedConnection? current;
    private TaskCompletionSource? connectedWaiter;
    private Task? run;
    private bool disposed;

    /// <summary>Creates a client; nothing connects until <see cref="ConnectAsync"/> or the first subscribe.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="timeProvider">Time for backoff, timeouts and staleness; <see cref="TimeProvider.System"/> when null.</param>
    public FeedClient(FeedClientOptions options, TimeProvider? timeProvider = null)
        : this(options, timeProvider, Random.Shared)
    {
    }

    internal FeedClient(FeedClientOptions options, TimeProvider? timeProvider, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        time = timeProvider ?? TimeProvider.System;
        throttleMs = options.ThrottleMs;
        policy = options.Policy;
        backoff = new Backoff(options.InitialBackoff, options.MaxBackoff, options.Jitter, random);
        buffer = new QuoteBuffer(options.BufferCapacity, Counters);
    }

    /// <summary>Raised on every change of <see cref="State"/>, from the client's connection loop. Handlers should be quick.</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Raised when the gateway says its feed turned stale (nothing received from Kafka for a while, with Kafka
    /// unreachable or behind: the prices held are frozen, not quiet) or live again. From the receive loop.
    /// </summary>
    public event EventHandler<FeedStatusChangedEventArgs>? FeedStatusChanged;

    /// <summary>Raised for server <c>error</c> messages no caller awaits (a failed resubscribe, an error without id).</summary>
    public event EventHandler<FeedRequestException>? ServerError;

    /// <summary>The connection state now.</summary>
    public ConnectionState State
    {
        get
        {
            lock (gate)
            {
                return state;
            }
        }
    }

    /// <summary>Running totals: quotes received, discarded as not newer, coalesced; connects; stale detections.</summary>
    public FeedClientCounters Counters { get; } = new();

    /// <summary>Quotes waiting for the reader: at most one per subscribed symbol, and at most <see cref="FeedClientOptions.BufferCapacity"/>.</summary>
    public int BufferedCount => buffer.Count;

    /// <summary>The session id from the current connection's <c>hello</c>; null while disconnected.</summary>
    public string? SessionId
    {
        get
        {
            lock (gate)
            {
                return current?.Hello.SessionId;
            }
        }
    }

    /// <summary>The symbols this client wants, which it resubscribes after every reconnect.</summary>
    public IReadOnlyCollection<string> Subscriptions
    {
        get
        {
            lock (gate)
            {
                return [.. wanted];
            }
        }
    }

    /// <summary>Starts the connection loop (once) and waits until the client is connected.</summary>
    /// <exception cref="OperationCanceledException">Canceled before a connection came up; the loop keeps trying.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        Task wait;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            StartLocked();
            if (state == ConnectionState.Connected)
            {
                return;
            }

            connectedWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = connectedWaiter.Task;
        }

        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Subscribes to <paramref name="symbols"/> and returns once the server has confirmed them and sent their
    /// snapshot (so the snapshot quotes are already buffered). The symbols are kept across reconnects. If the
    /// connection drops first, the request is sent again on the next one. Cancelling ends the wait, not the
    /// subscription: the symbols stay wanted (call <see cref="UnsubscribeAsync"/> to drop them).
    /// </summary>
    /// <exception cref="InvalidSymbolException">A symbol breaks the protocol's rules (checked before sending).</exception>
    /// <exception cref="TooManySymbolsException">The gateway's per-connection limit would be exceeded.</exception>
    /// <exception cref="SymbolForbiddenException">The caller is not entitled to a symbol.</exception>
    /// <exception cref="FeedRequestException">Any other server error (<c>rate_limited</c>, …).</exception>
    public async Task SubscribeAsync(IEnumerable<string> symbols, CancellationToken cancellationToken = default)
    {
        var normalized = Normalize(symbols);
        if (normalized.Count == 0)
        {
            return;
        }

        var id = requests.NextId();
        PendingRequest request;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var added = normalized.Where(wanted.Add).ToList();
            request = new PendingRequest(id, RequestKind.Subscribe, RequestWriter.Subscribe(id, normalized), normalized, isInternal: false) { NewlyAdded = added };
        }

        await SendAndWaitAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Unsubscribes from <paramref name="symbols"/>: they are no longer resubscribed, their waiting quotes are
    /// discarded, and their last <c>seq</c> is forgotten. Returns once the server has confirmed.
    /// </summary>
    public async Task UnsubscribeAsync(IEnumerable<string> symbols, CancellationToken cancellationToken = default)
    {
        var normalized = Normalize(symbols);
        if (normalized.Count == 0)
        {
            return;
        }

        var id = requests.NextId();
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            foreach (var symbol in normalized)
            {
                wanted.Remove(symbol);
                buffer.Remove(symbol);
                sequences.Forget(symbol);
            }
        }

        var request = new PendingRequest(id, RequestKind.Unsubscribe, RequestWriter.Unsubscribe(id, normalized), normalized, isInternal: false);
        await SendAndWaitAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes the connection's throttle and/or policy (null keeps the current one) and returns the settings the
    /// server confirmed. Later reconnects ask for the same settings in their query string.
    /// </summary>
    public async Task<SessionSettings> ConfigureAsync(int? throttleMs = null, DeliveryPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        if (throttleMs is < ThrottleLimits.MinMs or > ThrottleLimits.MaxMs)
        {
            throw new ArgumentOutOfRangeException(nameof(throttleMs), throttleMs, "throttleMs must be between 0 and 60000");
        }

        var id = requests.NextId();
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            this.throttleMs = throttleMs ?? this.throttleMs;
            this.policy = policy ?? this.policy;
        }

        var request = new PendingRequest(id, RequestKind.Configure, RequestWriter.Configure(id, throttleMs, policy), [], isInternal: false);
        var reply = await SendAndWaitAsync(request, cancellationToken).ConfigureAwait(false);
        var confirmed = DeliveryPolicies.TryParse(reply.Policy, out var p) ? p : DeliveryPolicy.Conflate;
        return new SessionSettings(reply.ThrottleMs ?? 0, confirmed);
    }

    /// <summary>
    /// The quotes, as they become available, until the client is disposed. Each symbol's <c>seq</c> strictly
    /// increases. Several readers may read at once; each quote goes to one of them.
    /// </summary>
    public async IAsyncEnumerable<QuoteUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await buffer.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (buffer.TryRead(out var update))
            {
                yield return update;
            }
        }
    }

    /// <summary>Takes the next waiting quote, if any, without waiting.</summary>
    public bool TryRead(out QuoteUpdate update) => buffer.TryRead(out update);

    /// <summary>
    /// Closes the connection with 1000 (waiting up to <see cref="FeedClientOptions.CloseTimeout"/> for the
    /// handshake), stops reconnecting, ends <see cref="ReadAllAsync"/> once the buffered quotes are read, and
    /// fails unanswered requests with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        FeedConnection? connection;
        Task? loop;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            connection = current;
            loop = run;
        }

        if (connection is not null)
        {
            await connection.CloseAsync(options.CloseTimeout).ConfigureAwait(false);
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        buffer.Complete();
        requests.FailAll(new ObjectDisposedException(nameof(FeedClient)));
        SetState(ConnectionState.Disposed, new ConnectionEnd(DisconnectReason.Disposed, CloseCodes.Normal));
        stopping.Dispose();
    }

    private static List<string> Normalize(IEnumerable<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        var valid = new List<string>();
        var invalid = new List<string>();
        foreach (var raw in symbols)
        {
            if (!Symbols.TryNormalize(raw, out var symbol))
            {
                invalid.Add(raw ?? "(null)");
            }
            else if (!valid.Contains(symbol))
            {
                valid.Add(symbol);
            }
        }

        return invalid.Count == 0
            ? valid
            : throw new InvalidSymbolException($"not valid symbols: {string.Join(", ", invalid)}", invalid);
    }

    private async Task<ServerMessage> SendAndWaitAsync(PendingRequest request, CancellationToken cancellationToken)
    {
        FeedConnection? connection;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            StartLocked();

            // Registered before the connection is read, under the same lock the loop takes to install a new
            // connection and collect the requests to send again: each request goes out exactly once per connection.
            requests.Add(request);
            connection = current;
        }

        if (connection is not null)
        {
            // Not the caller's token: cancelling a WebSocket send aborts the whole connection. A send that hangs
            // is cut off by the staleness watchdog instead.
            await connection.TrySendAsync(request.Frame, CancellationToken.None).ConfigureAwait(false);
        }

        try
        {
            return await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            requests.Remove(request);
            throw;
        }
    }

    private void StartLocked()
    {
        run ??= Task.Run(() => RunAsync(stopping.Token));
    }
}
