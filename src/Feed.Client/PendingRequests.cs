namespace MarketStream.Client;

internal enum RequestKind
{
    Subscribe,
    Unsubscribe,
    Configure,
}

/// <summary>A request sent (or to be sent) and not yet answered.</summary>
internal sealed class PendingRequest(long id, RequestKind kind, byte[] frame, IReadOnlyList<string> symbols, bool isInternal)
{
    public long Id { get; } = id;

    public RequestKind Kind { get; } = kind;

    public byte[] Frame { get; } = frame;

    /// <summary>The symbols requested (normalized).</summary>
    public IReadOnlyList<string> Symbols { get; } = symbols;

    /// <summary>A resubscribe after a reconnect: nobody awaits it, its errors go to <see cref="FeedClient.ServerError"/>.</summary>
    public bool IsInternal { get; } = isInternal;

    /// <summary>For a subscribe: the symbols that were not yet wanted before it, undone if it fails.</summary>
    public IReadOnlyList<string> NewlyAdded { get; init; } = [];

    /// <summary>For a subscribe: the symbols the <c>subscribed</c> reply confirmed.</summary>
    public IReadOnlyList<string>? Confirmed { get; set; }

    public TaskCompletionSource<ServerMessage> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The requests awaiting replies, by id. They survive a reconnect and are sent again on the new connection,
/// so a caller's <c>SubscribeAsync</c> completes once some connection has answered it.
/// </summary>
internal sealed class PendingRequests
{
    private readonly Lock gate = new();
    private readonly SortedDictionary<long, PendingRequest> byId = [];
    private long lastId;

    // The subscribe whose snapshot is next: the server sends subscribed, snapshot (and any error) back to back.
    private PendingRequest? awaitingSnapshot;

    public long NextId() => Interlocked.Increment(ref lastId);

    public void Add(PendingRequest request)
    {
        lock (gate)
        {
            byId[request.Id] = request;
        }
    }

    public PendingRequest? Find(long? id)
    {
        if (id is null)
        {
            return null;
        }

        lock (gate)
        {
            return byId.GetValueOrDefault(id.Value);
        }
    }

    public bool Remove(PendingRequest request)
    {
        lock (gate)
        {
            if (awaitingSnapshot == request)
            {
                awaitingSnapshot = null;
            }

            return byId.Remove(request.Id);
        }
    }

    /// <summary>Every request still unanswered, oldest first, to send again on a new connection.</summary>
    public List<PendingRequest> All()
    {
        lock (gate)
        {
            awaitingSnapshot = null;
            return [.. byId.Values];
        }
    }

    public void ExpectSnapshotFor(PendingRequest request)
    {
        lock (gate)
        {
            awaitingSnapshot = request;
        }
    }

    /// <summary>The subscribe a <c>snapshot</c> answers, if one is waiting for it.</summary>
    public PendingRequest? TakeSnapshotWaiter()
    {
        lock (gate)
        {
            var request = awaitingSnapshot;
            awaitingSnapshot = null;
            return request;
        }
    }

    public void FailAll(Exception exception)
    {
        List<PendingRequest> all;
        lock (gate)
        {
            all = [.. byId.Values];
            byId.Clear();
            awaitingSnapshot = null;
        }

        foreach (var request in all)
        {
            request.Completion.TrySetException(exception);
        }
    }
}
