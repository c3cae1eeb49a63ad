using System.Globalization;
using System.Net;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Gateway.Tests;

/// <remarks>
/// Run alone: OpenTelemetry's meter provider listens to every meter of a name in the process, so while other test
/// classes' gateways run beside it, their connections and symbols would show in this gateway's <c>/metrics</c>.
/// </remarks>
[Collection(MetricsCollection.Name)]
public class ObservabilityTests
{
    [Fact]
    public async Task Metrics_show_ticks_consumed_growing_and_a_slow_drop_oldest_client_dropping()
    {
        await using var gateway = await GatewayHost.StartWithSmallSendBuffersAsync(
            ("Feed:Simulator:Symbols", "S01,S02,S03,S04,S05"), ("Feed:Simulator:TicksPerSecond", 2000), ("Feed:Gateway:QueueCapacity", 16));
        await using var slow = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0&policy=drop-oldest", smallReceiveBuffer: true);
        await slow.ReceiveUntilAsync("hello");
        await slow.SendAsync("""{"op":"subscribe","symbols":["S01","S02","S03","S04","S05"]}""");

        var first = await ScrapeAsync(gateway);
        await Eventually.Holds(async () =>
        {
            first = await ScrapeAsync(gateway);
            // Not Value(): a scrape taken before the first collection holds no series yet, and that is worth a retry.
            return first.GetValueOrDefault("marketstream_gateway_connections") == 1 && first.GetValueOrDefault("marketstream_gateway_subscriptions") == 5;
        }, "the connection and its five subscriptions to show in /metrics");

        Dictionary<string, double> later = first;
        await Eventually.Holds(async () =>
        {
            later = await ScrapeAsync(gateway);
            return later.ContainsKey("marketstream_gateway_quotes_dropped_total{policy=\"drop-oldest\"}")
                && later.GetValueOrDefault("marketstream_ingest_ticks_consumed_total") > first.Value("marketstream_ingest_ticks_consumed_total");
        }, "ticks consumed to grow and the stalled drop-oldest client to drop quotes", TimeSpan.FromSeconds(30));

        Assert.True(later.Value("marketstream_gateway_quotes_dropped_total{policy=\"drop-oldest\"}") > 0);
        Assert.True(later.Value("marketstream_market_symbols") >= 5);
        Assert.True(later.Value("marketstream_gateway_quotes_sent_total") > 0);
        Assert.True(later.Value("marketstream_gateway_bytes_sent_bytes_total") > 0);
        Assert.True(later.Value("marketstream_gateway_tick_to_send_latency_seconds_count") > 0);
        Assert.True(later.Value("marketstream_gateway_send_duration_seconds_count") > 0);
        Assert.True(later.ContainsKey("marketstream_ingest_consumer_lag"));
        Assert.True(later.ContainsKey("marketstream_ingest_channel_depth"));
        Assert.Equal(0, later.Value("marketstream_ingest_ticks_rejected_total{reason=\"not_json\"}"));
    }

    [Fact]
    public async Task Readiness_turns_false_when_Kafka_is_unreachable_past_its_grace_and_back_when_it_returns()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("market.ticks", 2);
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Kafka:BootstrapServers", cluster.BootstrapServers), ("Feed:Kafka:UnreachableGraceSeconds", 2));
        await Eventually.Holds(async () => await ReadyAsync(gateway) == HttpStatusCode.OK, "ready");

        cluster.SetAllBrokersDown();
        await Eventually.Holds(async () => await ReadyAsync(gateway) == HttpStatusCode.ServiceUnavailable, "not ready while Kafka is away", TimeSpan.FromSeconds(30));

        cluster.SetAllBrokersUp();
        await Eventually.Holds(async () => await ReadyAsync(gateway) == HttpStatusCode.OK, "ready again", TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// A client chooses its close code, so a label taken from it would let any client make a new time series per
    /// code. Forty clients closing with 4100..4139 must leave the disconnects counter with its closed set of
    /// labels, the forty counted under "client".
    /// </summary>
    [Fact]
    public async Task Close_codes_chosen_by_clients_do_not_make_new_metric_series()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        for (var code = 4100; code < 4140; code++)
        {
            await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
            await client.ReceiveUntilAsync("hello");
            await client.Socket.CloseAsync((System.Net.WebSockets.WebSocketCloseStatus)code, "bye", CancellationToken.None);
        }

        Dictionary<string, double> series = [];
        await Eventually.Holds(async () =>
        {
            series = await ScrapeAsync(gateway);
            return series.GetValueOrDefault("marketstream_gateway_disconnects_total{code=\"client\"}") == 40;
        }, "forty disconnects counted under code=\"client\"");

        var codes = series.Keys.Where(k => k.StartsWith("marketstream_gateway_disconnects_total{", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["marketstream_gateway_disconnects_total{code=\"client\"}"], codes);
        Assert.DoesNotContain(series.Keys, k => k.Contains("41", StringComparison.Ordinal) && k.Contains("code=", StringComparison.Ordinal));

        // Codes the protocol names keep their own label.
        await using (var normal = await ProtocolClient.ConnectAsync(gateway.Address))
        {
            await normal.ReceiveUntilAsync("hello");
            await normal.Socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        await Eventually.Holds(async () => (await ScrapeAsync(gateway)).GetValueOrDefault("marketstream_gateway_disconnects_total{code=\"1000\"}") == 1, "a 1000 counted as such");
    }

    private static async Task<HttpStatusCode> ReadyAsync(GatewayHost gateway) =>
        (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode;

    /// <summary>Prometheus text as name{labels} -> value, with the scope label every series carries removed.</summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(GatewayHost gateway)
    {
        var text = await gateway.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var series = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var name = System.Text.RegularExpressions.Regex.Replace(line[..space], @"otel_scope_name=""[^""]*"",?", string.Empty).Replace("{}", string.Empty, StringComparison.Ordinal).Replace(",}", "}", StringComparison.Ordinal);
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                series[name] = value;
            }
        }

        return series;
    }
}

internal static class MetricsExtensions
{
    public static double Value(this Dictionary<string, double> series, string name) =>
        series.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"no series {name} in /metrics; have: {string.Join(", ", series.Keys.Where(k => k.StartsWith("marketstream", StringComparison.Ordinal)))}");
}

/// <summary>Tests that read a gateway's <c>/metrics</c>: not run in parallel with any other gateway.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}
