using System.Net;
using System.Text.Json;
using MarketStream.Ingest;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Gateway.Tests;

/// <summary>hello's stream epoch: the same on every replica reading one topic of one cluster, another on another cluster.</summary>
public class StreamEpochTests
{
    [Fact]
    public async Task Replicas_of_one_cluster_tell_the_same_epoch_over_WebSocket_and_SSE_and_another_cluster_another()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("market.ticks", 2);
        using var other = EmbeddedKafkaCluster.Start();
        other.CreateTopic("market.ticks", 2);
        (string, object)[] On(EmbeddedKafkaCluster c) => [("Feed:Kafka:BootstrapServers", c.BootstrapServers), ("Feed:Simulator:Enabled", false)];

        await using var first = await GatewayHost.StartAsync(On(cluster));
        await using var second = await GatewayHost.StartAsync(On(cluster));
        await using var elsewhere = await GatewayHost.StartAsync(On(other));

        var epochs = new List<string>();
        foreach (var gateway in new[] { first, second, elsewhere })
        {
            // Known before the gateway takes connections: a client connecting at once gets it too.
            Assert.NotNull(gateway.Get<StreamEpoch>().Value);
            await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
            var hello = (await client.ReceiveAsync())!.Value;
            Assert.Equal("hello", hello.Type());
            epochs.Add(hello.GetProperty("epoch").GetString()!);
        }

        Assert.Matches("^[0-9a-f]{16}$", epochs[0]);
        Assert.Equal(epochs[0], epochs[1]);
        Assert.NotEqual(epochs[0], epochs[2]);

        // SSE's first event is the same hello.
        using var response = await first.Http.GetAsync(new Uri("/sse?symbols=AAPL", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? line;
        do
        {
            line = await reader.ReadLineAsync(timeout.Token);
        }
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));

        var sseHello = JsonDocument.Parse(line!["data: ".Length..]).RootElement;
        Assert.Equal("hello", sseHello.GetProperty("type").GetString());
        Assert.Equal(epochs[0], sseHello.GetProperty("epoch").GetString());
    }
}
