using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// What sessions share in a gateway (market state, fan-out index, stats, options), on a fake clock that only
/// the test moves. <see cref="Connect"/> opens a session on a <see cref="FakeTransport"/> and starts its sender.
/// </summary>
internal sealed class SessionHarness : IAsyncDisposable
{
    /// <summary>Real time any one wait may take before the test fails: a hang fails, it does not stall.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly ServiceProvider services;
    private readonly List<TestConnection> connections = [];
    private readonly Dictionary<string, long> offsets = new(StringComparer.Ordinal);

    public SessionHarness(Action<GatewayOptions>? configure = null)
    {
        // A quiet default: heartbeats only in the tests about them.
        Options = new GatewayOptions { HeartbeatMs = 60_000 };
        configure?.Invoke(Options);
        services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Stats = new GatewayStats(services.GetRequiredService<IMeterFactory>(), Index);
        Scheduler = new SendScheduler(Clock, 1);
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 2, 14, 30, 0, TimeSpan.Zero));

    public GatewayOptions Options { get; }

    public MarketState State { get; } = new();

    public SubscriptionIndex Index { get; } = new();

    public GatewayStats Stats { get; }

    /// <summary>The senders' thread, on the fake clock.</summary>
    public SendScheduler Scheduler { get; private set; } = null!;

    /// <summary>Fake time since the harness started.</summary>
    public TimeSpan Elapsed => Clock.GetUtcNow() - Clock.Start;

    /// <summary>Opens a session and waits for its <c>hello</c>.</summary>
    public async Task<TestConnection> ConnectAsync(int throttleMs = 100, DeliveryPolicy policy = DeliveryPolicy.Conflate)
    {
        var connection = Connect(throttleMs, policy);
        await connection.ExpectAsync("hello");
        return connection;
    }

    /// <summary>Opens a session without waiting for anything.</summary>
    public TestConnection Connect(int throttleMs = 100, DeliveryPolicy policy = DeliveryPolicy.Conflate)
    {
        var transport = new FakeTransport(Clock);
        var session = new Session(transport, State, Index, Options, Stats, Clock, NullLogger.Instance, throttleMs, policy, Scheduler);
        var connection = new TestConnection(this, transport, session, Task.Run(session.RunAsync));
        connections.Add(connection);
        return connection;
    }

    /// <summary>
    /// A tick as the ingest would hand it on: merged into the market state at the symbol's next Kafka offset
    /// (seq = offset + 1), then fanned out through the index, as <c>MarketStateWriter</c> does.
    /// </summary>
    public Quote Publish(string symbol, decimal bid, decimal? ask = null, long? bidSize = null)
    {
        var offset = offsets.GetValueOrDefault(symbol);
        offsets[symbol] = offset + 1;
        var tick = new Tick
        {
            Symbol = symbol,
            Ts = ServerMessages.UnixMicros(Clock.GetUtcNow()),
            Bid = bid,
            Ask = ask,
            BidSize = bidSize,
        };
        var quote = State.Apply(new TickEnvelope(tick, 0, offset, default)) ?? throw new InvalidOperationException("the market state refused the tick");
        Index.Publish(quote);
        return quote;
    }

    public void Advance(int milliseconds) => Clock.Advance(TimeSpan.FromMilliseconds(milliseconds));

    /// <summary>
    /// Moves the clock forward 1 ms at a time until <paramref name="condition"/> holds, giving the sender (on its
    /// scheduler thread) a fair chance to react at each step. Fails after <paramref name="maxMs"/> of fake time.
    /// </summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, int maxMs, string what)
    {
        for (var advanced = 0; ; advanced++)
        {
            if (await MarketStream.Testing.Eventually.Within(condition, TimeSpan.FromMilliseconds(50)))
            {
                return;
            }

            Assert.True(advanced < maxMs, $"{what}: not within {maxMs} ms of fake time (now +{Elapsed.TotalMilliseconds} ms)");
            Advance(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in connections)
        {
            connection.Session.BeginClose(CloseCodes.Normal, "test over");
            connection.Transport.Release();
            await connection.Run.WaitAsync(Timeout);
            connection.Session.Dispose();
        }

        await services.DisposeAsync();
        Scheduler.Dispose();

        foreach (var connection in connections)
        {
            // The transport is told each message's type; it must be the type the message says it is.
            Assert.All(connection.Transport.Sent, m => Assert.Equal(m.DeclaredType, m.Type));
        }
    }
}

/// <summary>One session under test, read like a client reads its socket: in order, with a cursor.</summary>
internal sealed class TestConnection(SessionHarness harness, FakeTransport transport, Session session, Task run)
{
    private int cursor;
    private int syncs;

    public FakeTransport Transport { get; } = transport;

    public Session Session { get; } = session;

    public Task Run { get; } = run;

    public IReadOnlyList<SentMessage> Messages => Transport.Sent;

    public void Send(string json) => Session.HandleFrame(Encoding.UTF8.GetBytes(json));

    /// <summary>The next message not read yet, waiting for it if need be.</summary>
    public async Task<SentMessage> ReadAsync()
    {
        await Eventually.Holds(() => Transport.Sent.Count > cursor, () => $"message #{cursor + 1}; so far: {Describe()}");
        return Transport.Sent[cursor++];
    }

    /// <summary>Reads the next message and checks its type.</summary>
    public async Task<SentMessage> ExpectAsync(string type)
    {
        var message = await ReadAsync();
        Assert.True(message.Type == type, $"expected '{type}', got {message}");
        return message;
    }

    /// <summary>
    /// A barrier: a ping, and every message up to its pong. Replies are sent in order, so once the pong is
    /// here every reply owed before it has gone out.
    /// </summary>
    public async Task<List<SentMessage>> SyncAsync()
    {
        var id = $"sync-{++syncs}";
        Send($$"""{"op":"ping","id":"{{id}}"}""");
        var before = new List<SentMessage>();
        while (true)
        {
            var message = await ReadAsync();
            if (message.Type == "pong" && message.Has("id") && message["id"].GetString() == id)
            {
                return before;
            }

            before.Add(message);
        }
    }

    /// <summary>All <c>updates</c> frames so far, whether read or not.</summary>
    public List<SentMessage> UpdateFrames() => [.. Messages.Where(m => m.Type == "updates")];

    /// <summary>All quotes of all <c>updates</c> frames so far, in wire order.</summary>
    public List<System.Text.Json.JsonElement> UpdateQuotes() =>
        [.. UpdateFrames().SelectMany(f => f["quotes"].EnumerateArray())];

    public Task WaitForAsync(Func<IReadOnlyList<SentMessage>, bool> condition, string what) =>
        Eventually.Holds(() => condition(Transport.Sent), () => $"{what}; so far: {Describe()}");

    /// <summary>Waits until an <c>updates</c> frame has carried <paramref name="symbol"/> at <paramref name="seq"/> or later.</summary>
    public Task WaitForSeqAsync(string symbol, long seq) =>
        WaitForAsync(_ => UpdateQuotes().Any(q => q.GetProperty("symbol").GetString() == symbol && q.GetProperty("seq").GetInt64() >= seq), $"{symbol} seq {seq}");

    public string Describe()
    {
        var sent = Transport.Sent;
        var tail = sent.Skip(Math.Max(0, sent.Count - 8)).Select(m => m.ToString());
        return $"{sent.Count} messages, last: [{string.Join(", ", tail)}], close {Transport.CloseCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, fake time +{harness.Elapsed.TotalMilliseconds} ms";
    }
}
