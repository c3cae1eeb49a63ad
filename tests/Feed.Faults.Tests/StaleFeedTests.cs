using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Faults.Tests.Infrastructure;

namespace MarketStream.Faults.Tests;

/// <summary>A frozen feed is said to be frozen: status stale during a broker outage, live once ticks flow again.</summary>
public class StaleFeedTests
{
    [Fact]
    public async Task Clients_over_WebSocket_and_SSE_are_told_stale_during_a_broker_outage_and_live_after()
    {
        using var kafka = new FaultKafka(brokers: 1, partitions: 2);
        await using var gateway = await FaultGateway.StartAsync(kafka, 0,
            ("Feed:Gateway:HeartbeatMs", 500), ("Feed:Kafka:StaleAfterSeconds", 2), ("Feed:Kafka:UnreachableGraceSeconds", 60));

        // The outage is the point of the test: the broker monitor may report it as an error.
        gateway.ExpectErrors(e => e.StartsWith("MarketStream.Ingest.BrokerMonitor: Kafka brokers not answering", StringComparison.Ordinal));
        await gateway.WaitReadyAsync();
        await using var client = await StreamRecorder.ConnectAsync(gateway.Address, "throttleMs=0");
        await client.SubscribeAsync("STL1");

        var feedClient = new MarketStream.Client.FeedClient(new MarketStream.Client.FeedClientOptions { Endpoint = gateway.Address });
        var told = new System.Collections.Concurrent.ConcurrentQueue<MarketStream.Client.FeedStatusChangedEventArgs>();
        feedClient.FeedStatusChanged += (_, e) => told.Enqueue(e);
        await feedClient.SubscribeAsync(["STL1"]).WaitAsync(TimeSpan.FromSeconds(10));

        using var sseResponse = await gateway.Http.GetAsync(new Uri("/sse?symbols=STL1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var sseEvents = new List<(string Event, JsonElement Data)>();
        var sseReading = ReadSseAsync(sseResponse, sseEvents);

        using var stopProducing = new CancellationTokenSource();
        var n = 0;
        var producing = Task.Run(async () =>
        {
            while (!stopProducing.IsCancellationRequested)
            {
                try
                {
                    kafka.Produce(new Tick { Symbol = "STL1", Ts = FaultKafka.NowMicros, Last = 100m + (Interlocked.Increment(ref n) / 100m) });
                }
                catch (Exception) when (!stopProducing.IsCancellationRequested)
                {
                    // The broker is down: the producer's own buffer or errors; go on.
                }

                await Task.Delay(50, CancellationToken.None);
            }
        });
        await client.WaitForAsync(m => m.Type == "updates", "updates before the outage", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(client.Messages, m => m.Type == "status");

        kafka.Cluster.SetAllBrokersDown();
        var downAt = ServerMessages.UnixMicros(DateTimeOffset.UtcNow);
        await client.WaitForAsync(m => m.Type == "status" && m.Message.GetProperty("feed").GetString() == "stale", "status stale", TimeSpan.FromSeconds(15));
        var stale = client.Messages.First(m => m.Type == "status").Message;
        Assert.True(stale.GetProperty("since").GetInt64() <= downAt + 1_000_000, "since is the last tick received, not later");

        // Operators see what clients were told: the gauge the MarketStreamFeedStale alert reads.
        Assert.Contains("marketstream_ingest_feed_stale 1", await gateway.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

        // A client connecting during the outage hears it right after hello.
        await using (var late = await StreamRecorder.ConnectAsync(gateway.Address))
        {
            await late.WaitForAsync(m => m.Type == "status", "status for a client connecting while stale", TimeSpan.FromSeconds(5));
            Assert.Equal(["hello", "status"], late.Messages.Take(2).Select(m => m.Type));
        }

        kafka.Cluster.SetAllBrokersUp();
        await client.WaitForAsync(m => m.Type == "status" && m.Message.GetProperty("feed").GetString() == "live", "status live after the brokers returned", TimeSpan.FromSeconds(20));
        await Eventually.Holds(() => SseHas(sseEvents, "live"), "status live over SSE", TimeSpan.FromSeconds(10));
        Assert.True(SseHas(sseEvents, "stale"), "SSE heard the stale status too");

        // Feed.Client raised the same two, in order.
        await Eventually.Holds(() => told.Count >= 2, "Feed.Client's two status events", TimeSpan.FromSeconds(10));
        Assert.Equal([true, false], told.Select(e => e.IsStale));
        Assert.NotNull(told.First().Since);
        await feedClient.DisposeAsync();

        // Live means live: new updates follow.
        var liveAt = client.Messages.Last(m => m.Type == "status").AtMicros;
        await client.WaitForAsync(m => m.Type == "updates" && m.AtMicros > liveAt, "updates after live", TimeSpan.FromSeconds(10));
        await stopProducing.CancelAsync();
        await producing.WaitAsync(TimeSpan.FromSeconds(5));
        sseResponse.Dispose();
        await sseReading.WaitAsync(TimeSpan.FromSeconds(5)); // the reader ends once its response is disposed
    }

    private static bool SseHas(List<(string Event, JsonElement Data)> events, string feed)
    {
        lock (events)
        {
            return events.Any(e => e.Event == "status" && e.Data.GetProperty("feed").GetString() == feed);
        }
    }

    private static async Task ReadSseAsync(HttpResponseMessage response, List<(string Event, JsonElement Data)> events)
    {
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? name = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    lock (events)
                    {
                        events.Add((name ?? string.Empty, JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone()));
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or HttpRequestException or OperationCanceledException)
        {
            // The response was disposed at the end of the test.
        }
    }
}
