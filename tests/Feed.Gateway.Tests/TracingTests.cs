using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using MarketStream.Contracts;
using MarketStream.Ingest;

namespace MarketStream.Gateway.Tests;

public class TracingTests
{
    [Fact]
    public async Task A_tick_carrying_a_traceparent_is_processed_in_the_producers_trace()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MarketStream.Market",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        var connection = gateway.Get<KafkaConnection>();
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = connection.BootstrapServers }).Build();

        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        var headers = new Headers { { "traceparent", Encoding.ASCII.GetBytes($"00-{traceId}-{parentSpan}-01") } };
        await producer.ProduceAsync(connection.Topic, new Message<string, byte[]>
        {
            Key = "TRACED",
            Value = TickEncoder.ToUtf8(new Tick { Symbol = "TRACED", Ts = 1, Last = 1.5m }),
            Headers = headers,
        }).WaitAsync(TimeSpan.FromSeconds(15));

        // A tick without a traceparent gets no span at all.
        await producer.ProduceAsync(connection.Topic, new Message<string, byte[]>
        {
            Key = "PLAIN",
            Value = TickEncoder.ToUtf8(new Tick { Symbol = "PLAIN", Ts = 1, Last = 2.5m }),
        }).WaitAsync(TimeSpan.FromSeconds(15));

        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 2), "both ticks to reach the state");
        await Eventually.Holds(() => Task.FromResult(stopped.Any(a => a.TraceId == traceId)), "the tick's span");
        var span = stopped.Single(a => a.TraceId == traceId);
        Assert.Equal(parentSpan, span.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, span.Kind);
        Assert.Equal("TRACED", span.GetTagItem("marketstream.symbol"));
        Assert.DoesNotContain(stopped, a => Equals(a.GetTagItem("marketstream.symbol"), "PLAIN"));
    }
}
