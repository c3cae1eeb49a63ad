using System.Text.Json;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>One message the session handed to the transport, parsed, with the (fake) time it was handed over.</summary>
internal sealed record SentMessage(string Type, JsonElement Json, string DeclaredType, TimeSpan At)
{
    public JsonElement this[string property] => Json.GetProperty(property);

    public bool Has(string property) => Json.TryGetProperty(property, out _);

    public override string ToString() => $"+{At.TotalMilliseconds}ms {Json.GetRawText()}";
}

/// <summary>
/// A transport that records what the session sends and how it closes, and can stand in for a client that
/// stops reading: while held, a send is recorded but its task does not complete until released (or until
/// the session cancels it, or aborts the transport).
/// </summary>
internal sealed class FakeTransport(TimeProvider time) : ISessionTransport
{
    private readonly Lock gate = new();
    private readonly DateTimeOffset origin = time.GetUtcNow();
    private readonly List<SentMessage> sent = [];
    private readonly List<string> events = [];
    private readonly TaskCompletionSource closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? hold;
    private int completedSends;
    private bool aborted;

    /// <summary>Every message sent so far, in order (a held send included).</summary>
    public IReadOnlyList<SentMessage> Sent
    {
        get
        {
            lock (gate)
            {
                return [.. sent];
            }
        }
    }

    /// <summary>What happened, in order: <c>send:type</c>, <c>sent:type</c> (completed), <c>close:code</c>, <c>abort</c>.</summary>
    public IReadOnlyList<string> Events
    {
        get
        {
            lock (gate)
            {
                return [.. events];
            }
        }
    }

    /// <summary>True while a send has started and not completed.</summary>
    public bool SendInFlight
    {
        get
        {
            lock (gate)
            {
                return sent.Count > completedSends;
            }
        }
    }

    public int? CloseCode { get; private set; }

    public string? CloseReason { get; private set; }

    public bool IsAborted
    {
        get
        {
            lock (gate)
            {
                return aborted;
            }
        }
    }

    /// <summary>Completes when the session has closed the transport (orderly).</summary>
    public Task Closed => closed.Task;

    /// <summary>From now on, sends do not complete until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (gate)
        {
            hold ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Completes the held send (if any) and lets later sends complete at once.</summary>
    public void Release()
    {
        TaskCompletionSource? released;
        lock (gate)
        {
            released = hold;
            hold = null;
        }

        released?.TrySetResult();
    }

    /// <summary>Completes the held send (if any) and keeps holding: the next send is held again.</summary>
    public void ReleaseOne()
    {
        TaskCompletionSource? released;
        lock (gate)
        {
            released = hold;
            hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        released?.TrySetResult();
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken)
    {
        Task? wait;
        lock (gate)
        {
            if (aborted)
            {
                throw new IOException("the transport was aborted");
            }

            // Throws (and so fails the session's run) if the session ever writes something that is not one JSON value.
            using var document = JsonDocument.Parse(message);
            var root = document.RootElement.Clone();
            var declared = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            sent.Add(new SentMessage(declared, root, type, time.GetUtcNow() - origin));
            events.Add("send:" + declared);
            wait = hold?.Task;
        }

        if (wait is not null)
        {
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (gate)
        {
            completedSends++;
            events.Add("sent:" + type);
        }
    }

    public ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            events.Add("close:" + closeCode);
            CloseCode = closeCode;
            CloseReason = reason;
        }

        closed.TrySetResult();
        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        TaskCompletionSource? pending;
        lock (gate)
        {
            if (aborted)
            {
                return;
            }

            aborted = true;
            events.Add("abort");
            pending = hold;
            hold = null;
        }

        // As with a real socket, an abort fails the send in flight.
        pending?.TrySetException(new IOException("the transport was aborted"));
    }
}
