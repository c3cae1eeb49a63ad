using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// <see cref="SocketOutput"/> over a real TCP connection on 127.0.0.1: bytes arrive exactly and in order whether
/// the socket takes them at once or they wait in the backlog, a peer that stops reading makes a send wait once the
/// backlog passes the pause size (and reading again releases it), and a peer that is gone fails the sends. And the
/// gateway: its WebSocket frames take this path on plain connections, and the stock path when it is turned off.
/// </summary>
public sealed class SocketOutputTests
{
    [Fact]
    public async Task Bytes_arrive_exactly_and_in_order_through_the_backlog_and_both_ways_of_writing()
    {
        using var pair = await SocketPair.OpenAsync();
        var output = new SocketOutput(pair.Server, pauseBytes: 256 * 1024);
        var expected = new List<byte>();
        var random = new Random(7);
        var chunks = Enumerable.Range(0, 400).Select(_ => random.Next(1, 9000)).ToArray();
        var reading = pair.ReadAsync(chunks.Sum(), slowly: true);
        var mostWaiting = 0L;

        // Far more than the kernel's buffers take while the peer reads slowly: much goes through the backlog,
        // and the sends wait for it now and then.
        foreach (var length in chunks)
        {
            var chunk = new byte[length];
            random.NextBytes(chunk);
            expected.AddRange(chunk);
            if (length % 3 == 0)
            {
                // Kestrel's way: into the writer's memory, then a flush.
                chunk.CopyTo(output.GetSpan(chunk.Length));
                output.Advance(chunk.Length);
                var flushed = await output.FlushAsync();
                Assert.False(flushed.IsCompleted);
            }
            else
            {
                await output.SendAsync(chunk);
            }

            mostWaiting = Math.Max(mostWaiting, output.Backlog);
        }

        Assert.True(mostWaiting > 0, "nothing ever waited in the backlog: the test did not test it");

        var received = await reading;
        Assert.Equal(expected.Count, received.Length);
        Assert.True(expected.SequenceEqual(received), "the bytes received differ from those sent");
        await output.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, output.Backlog);
        output.Release();
    }

    [Fact]
    public async Task A_peer_that_stops_reading_makes_the_send_wait_past_the_pause_size_and_reading_releases_it()
    {
        using var pair = await SocketPair.OpenAsync();
        const int Pause = 32 * 1024;
        var output = new SocketOutput(pair.Server, Pause);
        var chunk = new byte[4096];
        var sent = 0L;
        ValueTask pending = default;
        for (var i = 0; i < 100_000; i++)
        {
            pending = output.SendAsync(chunk);
            sent += chunk.Length;
            if (!pending.IsCompleted)
            {
                break;
            }
        }

        Assert.False(pending.IsCompleted, "no send waited although the peer read nothing");
        Assert.InRange(output.Backlog, Pause, Pause + chunk.Length);

        // The peer reads everything: the waiting send completes and every byte arrives.
        var reading = pair.ReadAsync(sent);
        await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(sent, (await reading).Length);
        output.Release();
    }

    [Fact]
    public async Task A_peer_that_is_gone_fails_the_sends_with_an_IOException_and_flushes_say_completed()
    {
        using var pair = await SocketPair.OpenAsync();
        var output = new SocketOutput(pair.Server);
        pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close();

        // The first sends may still be taken by the kernel; within a few the reset shows.
        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await output.SendAsync(new byte[1024]);
                await Task.Delay(1);
            }
        });
        Assert.Contains("socket", error.Message, StringComparison.Ordinal);

        output.GetSpan(10);
        output.Advance(10);
        Assert.True((await output.FlushAsync()).IsCompleted);
        output.Release();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_gateways_WebSocket_frames_go_straight_to_the_socket_unless_turned_off(bool direct)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false), ("Feed:Gateway:DirectSocketWrites", direct));
        await using var client = await RawWebSocket.ConnectAsync(gateway.Address);
        var hello = await client.ReadFrameAsync();
        Assert.Equal("hello", JsonDocument.Parse(hello.Payload).RootElement.GetProperty("type").GetString());

        var session = await RegisteredSessions.OnlyAsync(gateway);
        var transport = Assert.IsType<WebSocketConnection>(session.Transport);
        Assert.Equal(direct, transport.WritesToSocket);

        // And a plain HTTP response on the same kind of connection comes through whole.
        var health = await gateway.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative));
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Under_TLS_the_frames_go_through_Kestrels_stream_and_arrive_whole()
    {
        // A self-signed certificate for 127.0.0.1, in a file, as an operator would configure one.
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=127.0.0.1", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        var path = Path.Combine(Path.GetTempPath(), $"marketstream-test-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, "test"));
        try
        {
            await using var gateway = await GatewayHost.StartAsync(
                ("urls", "https://127.0.0.1:0"), ("Kestrel:Certificates:Default:Path", path), ("Kestrel:Certificates:Default:Password", "test"));
            Assert.Equal("https", gateway.Address.Scheme);
            await using var client = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.RemoteCertificateValidationCallback = (_, _, _, _) => true);
            var hello = await client.ReceiveAsync();
            Assert.Equal("hello", hello?.GetProperty("type").GetString());

            var session = await RegisteredSessions.OnlyAsync(gateway);
            Assert.False(Assert.IsType<WebSocketConnection>(session.Transport).WritesToSocket);

            // A request and its reply, both through TLS over the connection's own writer.
            await client.SendAsync("{\"op\":\"subscribe\",\"symbols\":[\"AAPL\"]}");
            var (subscribed, _) = await client.ReceiveUntilAsync("subscribed");
            Assert.Equal("subscribed", subscribed.GetProperty("type").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Both ends of one loopback TCP connection; the server end is non-blocking, with a small send buffer.</summary>
    private sealed class SocketPair : IDisposable
    {
        private SocketPair(Socket server, Socket client)
        {
            Server = server;
            Client = client;
        }

        public Socket Server { get; }

        public Socket Client { get; }

        public static async Task<SocketPair> OpenAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.SendBufferSize = 8 * 1024;
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8 * 1024 };
            var accepting = listener.AcceptAsync();
            await client.ConnectAsync(listener.LocalEndPoint!);
            var server = await accepting;
            server.Blocking = false;
            return new SocketPair(server, client);
        }

        public async Task<byte[]> ReadAsync(long count, bool slowly = false)
        {
            var buffer = new byte[count];
            var read = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (read < count)
            {
                var n = await Client.ReceiveAsync(buffer.AsMemory(read, slowly ? (int)Math.Min(1024, count - read) : (int)(count - read)), SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                read += n;
                if (slowly && read / 65536 != (read - n) / 65536)
                {
                    await Task.Delay(1, timeout.Token);
                }
            }

            return buffer[..read];
        }

        public void Dispose()
        {
            Server.Dispose();
            Client.Dispose();
        }
    }
}
