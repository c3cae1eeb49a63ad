using System.Net;
using System.Net.Sockets;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// <c>Feed:Gateway:ManagementPort</c>: metrics and probes on an operators' port of their own, and only there; the
/// public port serves the board, the streams and the API, and nothing of the operators'.
/// </summary>
public sealed class ManagementPortTests
{
    [Fact]
    public async Task Metrics_and_probes_answer_on_the_management_port_only_and_nothing_else_does()
    {
        var port = FreePort();
        await using var gateway = await GatewayHost.StartAsync(("Feed:Gateway:ManagementPort", port));
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };

        await Eventually.Holds(async () => (await management.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, "ready on the management port");
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
        Assert.Contains("marketstream_", await management.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

        // The public port has none of it, whatever Host header a client sends.
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync(new Uri("/dashboard/data", UriKind.Relative))).StatusCode);
        foreach (var path in new[] { "/metrics", "/healthz/live", "/healthz/ready", "/dashboard/", "/dashboard/data" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
            using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            spoofed.Headers.Host = $"127.0.0.1:{port}";
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.SendAsync(spoofed)).StatusCode);
        }

        // ... and the management port has nothing else: no board, no API, no stream.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/api/symbols", UriKind.Relative))).StatusCode);
        foreach (var path in new[] { "/", "/index.html", "/api/symbols", "/ws", "/sse?symbols=AAPL" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        Assert.Equal("hello", (await client.ReceiveAsync())?.Type());
    }

    [Fact]
    public async Task With_Kestrels_own_endpoint_configuration_the_management_port_joins_it()
    {
        var port = FreePort();
        await using var gateway = await GatewayHost.StartAsync(("Kestrel:Endpoints:Public:Url", "http://127.0.0.1:0"), ("Feed:Gateway:ManagementPort", port));
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Without_a_management_port_one_port_serves_everything_as_before()
    {
        await using var gateway = await GatewayHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        Assert.Single(gateway.App.Urls);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
