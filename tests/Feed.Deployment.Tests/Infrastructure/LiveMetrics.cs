using System.Text.RegularExpressions;

namespace MarketStream.Deployment.Tests.Infrastructure;

/// <summary>
/// What a real gateway exports on <c>/metrics</c>, and the metric names a PromQL expression reads: so alerts and
/// dashboards are checked against the gateway, not against a list someone typed.
/// </summary>
internal static partial class LiveMetrics
{
    /// <summary>
    /// The collection of tests that scrape a gateway: run when no other gateway runs in this process. Every
    /// gateway's OpenTelemetry provider listens to every meter of its name in the process, so another test's gateway
    /// that stops while this one is scraped takes the shared metric streams with it (its disconnects counter's end
    /// ends this gateway's too), and /metrics then lacks series this gateway did record.
    /// </summary>
    public const string Collection = "live metrics";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static HashSet<string>? exported;

    /// <summary>
    /// The series names of a real gateway's /metrics once it has done what every metric counts: consumed ticks,
    /// held a connection that received updates, seen it close, dropped quotes under drop-oldest
    /// and conflated them under conflate. Measured once per test run.
    /// </summary>
    public static async Task<IReadOnlySet<string>> ExportedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return exported ??= await ScrapeAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The <c>marketstream_</c>, <c>kube_</c> and <c>container_</c> metric names in a PromQL expression.</summary>
    public static IReadOnlyList<string> MetricsIn(string promQl) =>
        [.. Identifier().Matches(promQl).Select(m => m.Value)
            .Where(m => m.StartsWith("marketstream_", StringComparison.Ordinal) || m.StartsWith("kube_", StringComparison.Ordinal) || m.StartsWith("container_", StringComparison.Ordinal))];

    private static async Task<HashSet<string>> ScrapeAsync()
    {
        // A small queue, so a drop-oldest connection with a slow throttle drops quotes within a second.
        await using var gateway = await GatewayHost.StartAsync(("Feed:Gateway:QueueCapacity", 16));
        await gateway.WaitReadyAsync();
        await using (var client = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0"))
        {
            await client.SendAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT"]}""");
            await client.ReceiveUntilAsync("updates");
        }

        // Wait for the simulator to have ticked a hundred symbols: subscribed to a few only, the two clients below
        // could see too few ticks a second to drop or conflate any.
        string[] symbols = [];
        await Eventually.Holds(
            async () => (symbols = System.Text.Json.JsonSerializer.Deserialize<string[]>(await gateway.Http.GetStringAsync(new Uri("/api/symbols", UriKind.Relative)))!).Length >= 100,
            "a hundred symbols known");
        // Both read everything (in the background): drops and conflations are counted per frame sent.
        await using var dropping = await StreamRecorder.ConnectAsync(gateway.Address, "throttleMs=1000&policy=drop-oldest");
        await dropping.SubscribeAsync([.. symbols.Take(100)]);
        await using var conflating = await StreamRecorder.ConnectAsync(gateway.Address, "throttleMs=1000&policy=conflate");
        await conflating.SubscribeAsync([.. symbols.Take(100)]);

        var names = new HashSet<string>(StringComparer.Ordinal);
        string[] wanted = ["marketstream_gateway_disconnects_total", "marketstream_gateway_quotes_dropped_total", "marketstream_gateway_quotes_conflated_total"];
        try
        {
            await Eventually.Holds(async () =>
            {
                var text = await gateway.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                names = [.. text.Split('\n').Where(l => l.StartsWith("marketstream_", StringComparison.Ordinal)).Select(l => l.Split('{', ' ')[0])];
                return wanted.All(names.Contains);
            }, "a closed connection, dropped and conflated quotes counted in /metrics", TimeSpan.FromSeconds(40));
        }
        catch (Xunit.Sdk.XunitException)
        {
            Assert.Fail($"/metrics lacks {string.Join(", ", wanted.Where(w => !names.Contains(w)))}; the dropping client got "
                + $"{dropping.Quotes.Length} quotes, the conflating one {conflating.Quotes.Length}");
        }

        return names;
    }

    [GeneratedRegex("[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}

/// <summary>See <see cref="LiveMetrics.Collection"/>.</summary>
[CollectionDefinition(LiveMetrics.Collection, DisableParallelization = true)]
public sealed class LiveMetricsCollection
{
}
