using MarketStream.Ingest.Embedded;

namespace MarketStream.Client.Tests;

public class ReconnectTests
{
    [Fact]
    public async Task After_the_gateway_restarts_on_the_same_port_the_client_reconnects_resubscribes_and_seq_keeps_increasing()
    {
        // Both gateways read one Kafka cluster, so seq (the Kafka offset) continues across the restart, as it
        // does across replicas in production.
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic("market.ticks", 3);
        (string, object)[] settings =
        [
            ("Feed:Kafka:BootstrapServers", kafka.BootstrapServers), ("Feed:Simulator:Enabled", true),
            ("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 200),
        ];
        await using var first = await TestGateway.StartAsync(settings);
        var port = first.Port;
        var client = new FeedClient(new FeedClientOptions { Endpoint = first.Address, ThrottleMs = 0, InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(500) });
        var states = new StateRecorder(client);
        GatewayHost? second = null;
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL", "MSFT"]));
            var before = await Wait.ReadUntil(client, q => q.Any(x => x.Symbol == "AAPL") && q.Any(x => x.Symbol == "MSFT"), "quotes of both symbols");
            while (client.TryRead(out var more))
            {
                before.Add(more);
            }

            await first.StopAsync();
            await Eventually.Holds(() => states.Saw(ConnectionState.Reconnecting), "the client to report Reconnecting");
            Assert.Equal(ConnectionState.Reconnecting, client.State);

            second = await TestGateway.StartAsync(port, settings);
            await Eventually.Holds(() => client.State == ConnectionState.Connected, "the client to reconnect");

            // No SubscribeAsync here: the client resubscribes on its own.
            var lastBefore = before.GroupBy(q => q.Symbol).ToDictionary(g => g.Key, g => g.Max(q => q.Seq));
            var after = await Wait.ReadUntil(client, q => q.Any(x => x.Symbol == "AAPL") && q.Any(x => x.Symbol == "MSFT"), "quotes of both symbols after the restart");

            Assert.All(after, q => Assert.True(q.Seq > lastBefore[q.Symbol], $"{q.Symbol} seq {q.Seq} not after {lastBefore[q.Symbol]}"));
            Assert.Equal(2, client.Counters.Connects);
            var sequence = states.Changes.Select(c => c.Current).ToList();
            var reconnecting = sequence.IndexOf(ConnectionState.Reconnecting);
            Assert.True(reconnecting > 0 && sequence.Skip(reconnecting).Contains(ConnectionState.Connected), string.Join(" > ", sequence));
            Assert.Contains(states.Changes, c => c.Current == ConnectionState.Reconnecting && c.CloseStatus == CloseCodes.GoingAway);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A gateway that comes back reading another cluster (a restarted embedded broker, a disaster-recovery
    /// cluster) starts seq low again. Its hello tells a new epoch, and the client, instead of turning every new
    /// quote away as older than what it had, starts comparing afresh; within the new epoch seq still only grows.
    /// </summary>
    [Fact]
    public async Task Across_a_change_of_cluster_the_client_takes_the_new_stream_and_keeps_seq_order_within_it()
    {
        const int History = 30_000;
        using var clusterA = EmbeddedKafkaCluster.Start();
        clusterA.CreateTopic("market.ticks", 1);

        // A long history on the first cluster (records of another symbol), so its seq is far above anything the
        // second cluster's simulator reaches during the test (it starts with a burst of a few thousand ticks).
        using (var producer = new Confluent.Kafka.ProducerBuilder<string, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = clusterA.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < History; i++)
            {
                producer.Produce("market.ticks", new Confluent.Kafka.Message<string, string> { Key = "HIST", Value = "{\"symbol\":\"HIST\",\"ts\":1,\"last\":1.5}" });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var first = await TestGateway.StartAsync(
            ("Feed:Kafka:BootstrapServers", clusterA.BootstrapServers), ("Feed:Simulator:Enabled", true),
            ("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 500));
        var port = first.Port;
        var client = new FeedClient(new FeedClientOptions { Endpoint = first.Address, ThrottleMs = 0, InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(500) });
        GatewayHost? second = null;
        EmbeddedKafkaCluster? clusterB = null;
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL", "MSFT"]));
            var before = await Wait.ReadUntil(client, q => q.Count(x => x.Symbol == "AAPL" && x.Seq > History) >= 3, "AAPL quotes on the first cluster");
            await first.StopAsync();
            var firstStoppedAt = MarketStream.Contracts.ServerMessages.UnixMicros(DateTimeOffset.UtcNow);

            clusterB = EmbeddedKafkaCluster.Start();
            clusterB.CreateTopic("market.ticks", 1);
            second = await TestGateway.StartAsync(port,
                ("Feed:Kafka:BootstrapServers", clusterB.BootstrapServers), ("Feed:Simulator:Enabled", true),
                ("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 100));
            await Eventually.Holds(() => client.State == ConnectionState.Connected && client.Counters.Connects == 2, "the client to reconnect");

            // New quotes (ticked after the first gateway stopped) are taken although their seq is far below what the
            // first cluster reached. What the first connection delivered last may still be read first: it is told
            // apart by its time.
            bool FromSecond(QuoteUpdate q) => q.Quote.Ts > firstStoppedAt;
            var read = await Wait.ReadUntil(client, q => q.Count(x => x.Symbol == "AAPL" && FromSecond(x)) >= 3 && q.Any(x => x.Symbol == "MSFT" && FromSecond(x)), "quotes from the second cluster");
            var highest = before.Concat(read.Where(q => !FromSecond(q))).Max(q => q.Seq);
            var after = read.Where(FromSecond).ToList();
            Assert.All(after, q => Assert.True(q.Seq < highest, $"{q.Symbol} seq {q.Seq}: expected the second cluster's low seq"));
            Assert.Equal(1, client.Counters.EpochChanges);

            // ...and within the new epoch nothing older than what was delivered gets through.
            foreach (var symbol in new[] { "AAPL", "MSFT" })
            {
                var seqs = after.Where(q => q.Symbol == symbol).Select(q => q.Seq).ToList();
                Assert.Equal(seqs.Order(), seqs);
                Assert.Equal(seqs.Count, seqs.Distinct().Count());
            }
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
            if (second is not null)
            {
                await second.DisposeAsync();
            }

            // The cluster goes after the gateway that reads it, or the gateway would see its broker vanish.
            clusterB?.Dispose();
        }
    }
}
