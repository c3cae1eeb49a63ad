using System.Diagnostics;
using System.Net;
using System.Text.Json;
using MarketStream.Ingest;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Gateway.Tests;

public class GatewayHttpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task On_the_embedded_default_the_simulators_symbols_are_listed_and_quotes_change()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:TicksPerSecond", 2000));

        string[] symbols = [];
        await Eventually.Holds(async () =>
        {
            symbols = JsonSerializer.Deserialize<string[]>(await gateway.Http.GetStringAsync(new Uri("/api/symbols", UriKind.Relative)))!;
            return symbols.Length > 100 && symbols.Contains("EUR/USD");
        }, "the simulator's symbols to be listed");
        Assert.Contains("AAPL", symbols);

        var first = await GetQuote(gateway, "aapl");
        Assert.Equal("AAPL", first.GetProperty("symbol").GetString());
        Assert.True(first.GetProperty("bid").GetDecimal() < first.GetProperty("ask").GetDecimal());

        JsonElement later = first;
        await Eventually.Holds(async () =>
        {
            later = await GetQuote(gateway, "AAPL");
            return later.GetProperty("seq").GetInt64() > first.GetProperty("seq").GetInt64();
        }, "AAPL's quote to change");
        Assert.True(later.GetProperty("ts").GetInt64() >= first.GetProperty("ts").GetInt64());
    }

    [Theory]
    [InlineData("/api/quotes/EUR/USD")]
    [InlineData("/api/quotes/eur%2Fusd")]
    public async Task A_symbol_with_a_slash_is_reachable_over_HTTP(string path)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "EUR/USD"), ("Feed:Simulator:TicksPerSecond", 200));
        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 1), "EUR/USD to have state");
        var body = await gateway.Http.GetStringAsync(new Uri(path, UriKind.Relative));
        Assert.StartsWith("""{"symbol":"EUR/USD","seq":""", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_symbol_is_404_and_an_invalid_one_400()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"));
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri("/api/quotes/NOPE", UriKind.Relative))).StatusCode);
        var invalid = await gateway.Http.GetAsync(new Uri("/api/quotes/%3F%3F", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("invalid_symbol", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_is_false_until_the_ingest_has_caught_up_and_liveness_is_true_throughout()
    {
        // A real cluster whose topic does not exist yet: the ingest cannot warm up until it appears.
        using var cluster = EmbeddedKafkaCluster.Start();
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Kafka:BootstrapServers", cluster.BootstrapServers),
            ("Feed:Kafka:Topic", "late-topic"));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode);
        await Eventually.Throughout(
            async () => (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness 503 while the topic is missing", TimeSpan.FromSeconds(1.5));

        // Streams are refused as well while it warms: a balancer that does not read readiness must not put a client
        // on a replica that holds no current state.
        var error = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, configure: o =>
        {
            o.CollectHttpResponseDetails = true;
        }));
        Assert.Contains("503", error.Message, StringComparison.Ordinal);

        using (var sse = await gateway.Http.GetAsync(new Uri("/sse?symbols=AAPL", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, sse.StatusCode);
            Assert.Contains("still reading the current market", await sse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        cluster.CreateTopic("late-topic", 2);
        await Eventually.Holds(
            async () => (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK,
            "readiness after the topic appeared");
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        _ = await client.ReceiveUntilAsync("hello");
    }

    [Fact]
    public async Task A_real_cluster_runs_no_simulator_unless_told_to()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("quiet", 1);
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Kafka:BootstrapServers", cluster.BootstrapServers),
            ("Feed:Kafka:Topic", "quiet"));
        await gateway.Get<IngestStatus>().WarmedUp.WaitAsync(Timeout);
        await Eventually.Throughout(
            async () => await gateway.Http.GetStringAsync(new Uri("/api/symbols", UriKind.Relative)) == "[]",
            "no symbols (no simulator writing)", TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_tick_written_with_kcat_to_the_embedded_broker_shows_up_with_its_exact_price()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"));
        var bootstrap = gateway.Get<KafkaConnection>().BootstrapServers;
        var record = """KCAT.T:{"symbol":"kcat.t","ts":1795356633535123,"bid":189.12,"ask":189.140,"last":0.0001,"venue":"XNAS"}""";

        var kcat = Process.Start(new ProcessStartInfo("kcat", ["-P", "-b", bootstrap, "-t", "market.ticks", "-K:"])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("kcat did not start (install the kcat package)");
        await kcat.StandardInput.WriteLineAsync(record);
        kcat.StandardInput.Close();
        await kcat.WaitForExitAsync().WaitAsync(Timeout);
        Assert.True(kcat.ExitCode == 0, await kcat.StandardError.ReadToEndAsync());

        string body = "";
        await Eventually.Holds(async () =>
        {
            var response = await gateway.Http.GetAsync(new Uri("/api/quotes/KCAT.T", UriKind.Relative));
            body = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode;
        }, "the kcat tick to reach the state");
        Assert.Contains("\"bid\":189.12,\"ask\":189.140,\"last\":0.0001,\"ts\":1795356633535123,\"venue\":\"XNAS\"", body, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> GetQuote(GatewayHost gateway, string symbol)
    {
        JsonElement quote = default;
        await Eventually.Holds(async () =>
        {
            var response = await gateway.Http.GetAsync(new Uri($"/api/quotes/{Uri.EscapeDataString(symbol)}", UriKind.Relative));
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            quote = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            return true;
        }, $"a quote for {symbol}");
        return quote;
    }
}
