using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using BenchmarkDotNet.Attributes;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketStream.Benchmarks;

/// <summary>
/// One tick fanned out to 1,000 subscribed sessions (conflate): <see cref="SubscriptionIndex.Publish"/>, the entry
/// the market state writer calls, into real <c>Session</c>s. Their senders are not running, so this is the fan-out's
/// own cost with no socket in it: the quote stored as the symbol's newest, then one read of each subscriber's mode,
/// as for sessions whose throttle has not expired yet (they read the newest quote when their frame is due), the
/// common case at 100 ms. A <see cref="MeterListener"/> listens to every instrument of the gateway, as the
/// OpenTelemetry exporter does in production, so the figure includes whatever metrics cost per tick.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private delegate void FrameHandler(ReadOnlySpan<byte> utf8);

    private readonly List<IDisposable> sessions = [];
    private SubscriptionIndex index = null!;
    private ServiceProvider services = null!;
    private MeterListener listener = null!;
    private SendScheduler scheduler = null!;
    private Quote quote = null!;
    private long seq;
    private long measured;

    [Params(1_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GatewayStats.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref measured, value));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measured));
        listener.Start();
        index = new SubscriptionIndex();
        var state = new MarketState();
        var options = new GatewayOptions { MaxRequestsPerSecond = 10_000 };
        var stats = new GatewayStats(services.GetRequiredService<IMeterFactory>(), index);
        scheduler = new SendScheduler(TimeProvider.System, 1);

        // Session is internal to the gateway: built by reflection, once, outside the measured code. Its transport
        // is never touched, since its sender loop never runs here.
        var sessionType = typeof(SubscriptionIndex).Assembly.GetType("MarketStream.Gateway.Streaming.Session", throwOnError: true)!;
        // The constructor's first ten parameters are what the WebSocket endpoint passes; later ones are optional
        // (entitlements, token expiry) and take their defaults: no auth, as in the load runs.
        var constructor = sessionType.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Single(c => c.GetParameters().Length >= 10 && c.GetParameters().Skip(10).All(p => p.IsOptional));
        var optional = constructor.GetParameters().Skip(10).Select(p => p.DefaultValue).ToArray();
        var subscribe = Encoding.UTF8.GetBytes("""{"op":"subscribe","id":1,"symbols":["AAPL"]}""");
        for (var i = 0; i < Sessions; i++)
        {
            var session = constructor.Invoke([null, state, index, options, stats, TimeProvider.System, NullLogger.Instance, 100, DeliveryPolicy.Conflate, scheduler, .. optional]);
            var handle = sessionType.GetMethod("HandleFrame", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!
                .CreateDelegate<FrameHandler>(session);
            handle(subscribe);
            sessions.Add((IDisposable)session);
        }

        if (index.SubscriptionCount != Sessions)
        {
            throw new InvalidOperationException($"{index.SubscriptionCount} subscriptions, expected {Sessions}");
        }

        quote = TickPayloads.FullQuote("AAPL", 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var s in sessions)
        {
            s.Dispose();
        }

        listener.Dispose();
        scheduler.Dispose();
        services.Dispose();
    }

    [Benchmark(Description = "one tick to 1,000 sessions")]
    public void FanOut()
    {
        ++seq;
        index.Publish(quote with { Seq = seq, Version = seq });
    }
}
