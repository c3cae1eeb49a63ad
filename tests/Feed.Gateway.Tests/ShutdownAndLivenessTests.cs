using System.Net;
using System.Net.Sockets;
using System.Text;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Tests;

public class ShutdownAndLivenessTests
{
    [Fact]
    public async Task Stopping_the_gateway_turns_readiness_false_and_closes_every_client_with_1001_within_the_drain_window()
    {
        var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Gateway:DrainSeconds", 2));
        await Eventually.Holds(
            async () => (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, "ready");
        var clients = new List<ProtocolClient>();
        for (var i = 0; i < 4; i++)
        {
            var client = await ProtocolClient.ConnectAsync(gateway.Address);
            await client.ReceiveUntilAsync("hello");
            await client.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
            clients.Add(client);
        }

        var closedAt = new DateTime[clients.Count];
        var closes = clients.Select(async (c, i) =>
        {
            var code = await c.ReceiveCloseAsync(TimeSpan.FromSeconds(20));
            closedAt[i] = DateTime.UtcNow;
            return code;
        }).ToList();
        var started = DateTime.UtcNow;
        var stopping = gateway.App.StopAsync();

        // While the drain runs, readiness is false (the listener is still up until the drain ends).
        await Eventually.Holds(async () =>
        {
            try
            {
                return (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "readiness to turn false during the drain", TimeSpan.FromSeconds(5));

        var codes = await Task.WhenAll(closes).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(codes, code => Assert.Equal(CloseCodes.GoingAway, code));

        // Spread over the 2 s window (at 0, 0.5, 1 and 1.5 s), not all at once.
        Assert.True(closedAt.Max() - closedAt.Min() >= TimeSpan.FromSeconds(1), $"closes spread over only {(closedAt.Max() - closedAt.Min()).TotalMilliseconds:F0} ms");
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "shutdown took far longer than the 2 s drain window");

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await gateway.DisposeAsync();
    }

    [Fact]
    public async Task A_peer_that_never_answers_pings_is_cut_off()
    {
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Simulator:Enabled", false), ("Feed:Gateway:KeepAliveIntervalMs", 300), ("Feed:Gateway:KeepAliveTimeoutMs", 1000),
            ("Feed:Gateway:HeartbeatMs", 60000));

        // A raw TCP peer: completes the upgrade, then reads whatever comes and never writes a pong.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.Address.Port);
        var stream = tcp.GetStream();
        var request = $"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Address.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        var buffer = new byte[4096];
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var closedByServer = false;
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    closedByServer = true;
                    break;
                }

                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
            closedByServer = true;
        }

        // The server aborts a dead peer. When the abort ends in a TCP reset, what this peer had not read yet is
        // discarded: on a busy machine (the read loop started late) the whole upgrade answer may go with it.
        // Whatever did arrive is the upgrade.
        Assert.True(closedByServer, "the server kept a peer that never answered its pings");
        Assert.True(received.Length == 0 || received.ToString().StartsWith("HTTP/1.1 101", StringComparison.Ordinal), received.ToString());
    }
}
