using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using MarketStream.Gateway.Streaming;

namespace MarketStream.Gateway.Tests;

/// <summary>
/// A wire fuzzer: real sockets send random frames (every opcode, lengths around the limits, masked and not,
/// reserved bits, fragments with control frames between them, invalid UTF-8, truncated headers and payloads)
/// while a normal client streams beside them. Seeded, so a failure names the connection's seed to replay.
/// </summary>
public class WireFuzzTests
{
    private const int FrameLimit = 2048;
    private const int Connections = 48;
    private static readonly byte[][] Requests =
    [
        """{"op":"subscribe","symbols":["AAPL"]}"""u8.ToArray(),
        """{"op":"unsubscribe","symbols":["AAPL"]}"""u8.ToArray(),
        """{"op":"ping","id":1}"""u8.ToArray(),
        """{"op":"configure","throttleMs":0}"""u8.ToArray(),
        """{"op":"configure","policy":"drop-oldest"}"""u8.ToArray(),
        "not json"u8.ToArray(),
        [0x7B, 0xC3, 0x28, 0x7D],
        [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80],
    ];

    [Fact]
    public async Task Random_frames_leave_the_gateway_serving_every_connection_closed_with_an_RFC_code_and_the_neighbour_streaming()
    {
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 200),
            ("Feed:Gateway:MaxFrameBytes", FrameLimit), ("Feed:Gateway:FrameTimeoutMs", 1000), ("Feed:Gateway:CloseTimeoutMs", 1000));

        await using var neighbour = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await neighbour.ReceiveUntilAsync("hello");
        await neighbour.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
        await neighbour.ReceiveUntilAsync("snapshot");
        using var stop = new CancellationTokenSource();
        var watch = WatchNeighbourAsync(neighbour, stop.Token);

        // The same seeds every run, and as many new ones (named in a failure, so it can be replayed with
        // FUZZ_FIRST_SEED): over many runs the fuzzer keeps looking further.
        var first = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_FIRST_SEED"), out var given) ? given : Random.Shared.Next(1_000, 1_000_000);
        var seeds = Enumerable.Range(1, Connections).Concat(Enumerable.Range(first, Connections));
        var outcomes = new ConcurrentBag<string>();
        await Task.WhenAll(seeds.Select(seed => Task.Run(async () => outcomes.Add(await FuzzOneAsync(gateway, seed)))));

        var failures = outcomes.Where(o => o.Length > 0).ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures.Concat(gateway.ErrorLogs)));

        // Bad input is the client's fault: nothing the fuzzer sent may log an error (a fault) in the gateway.
        Assert.True(gateway.ErrorLogs.Count == 0, string.Join("\n", gateway.ErrorLogs));

        // Every fuzzed connection is gone from the registry (the connections gauge reads it); the neighbour's is left.
        var registry = gateway.Get<SessionRegistry>();
        await Eventually.Holds(() => Task.FromResult(registry.Count == 1), $"only the neighbour to remain ({registry.Count} sessions)", TimeSpan.FromSeconds(15));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode);

        await stop.CancelAsync();
        var (updates, longestGap) = await watch;
        Assert.True(updates >= 20, $"the neighbour got {updates} updates frames while the fuzzer ran");
        Assert.True(longestGap < TimeSpan.FromSeconds(3), $"the neighbour went {longestGap.TotalMilliseconds:F0} ms without updates");
    }

    /// <summary>One fuzzed connection; an empty string when all went as RFC 6455 requires, else what did not.</summary>
    private static async Task<string> FuzzOneAsync(GatewayHost gateway, int seed)
    {
        var random = new Random(seed);

        // Every other connection agrees permessage-deflate, so RSV1 and compressed payloads (mostly garbage) are fuzzed too.
        var deflate = seed % 2 == 0;
        await using var client = deflate
            ? await RawWebSocket.ConnectAsync(gateway.Address, extraHeaders: "Sec-WebSocket-Protocol: marketstream.v1\r\nSec-WebSocket-Extensions: permessage-deflate\r\n")
            : await RawWebSocket.ConnectAsync(gateway.Address);
        if (!client.ResponseHead.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            return $"seed {seed}: upgrade answered {client.ResponseHead.Split('\r')[0]}";
        }

        // Everything the server sends, until its close frame or the end of the connection.
        int? closeCode = null;
        string? badFrame = null;
        var reader = Task.Run(async () =>
        {
            try
            {
                while (closeCode is null)
                {
                    var frame = await client.ReadFrameAsync(TimeSpan.FromSeconds(20));
                    var compressed = deflate && frame.Reserved == 4 && frame.Opcode == 0x1;
                    if (!frame.Fin || (frame.Reserved != 0 && !compressed) || frame.Opcode is not (0x1 or 0x8 or 0x9 or 0xA))
                    {
                        badFrame = $"fin {frame.Fin}, reserved {frame.Reserved}, opcode {frame.Opcode}";
                        return;
                    }

                    if (frame.Opcode == 0x8)
                    {
                        closeCode = frame.CloseCode;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or OperationCanceledException or SocketException)
            {
                // The connection ended: whether a close frame came first is checked below.
            }
        });

        var sent = new List<string>();
        try
        {
            var frames = random.Next(1, 24);
            var stalled = false;
            for (var i = 0; i < frames && !stalled && !reader.IsCompleted; i++)
            {
                var what = await SendRandomFrameAsync(client, random, deflate);
                sent.Add(what);
                stalled = what.EndsWith("cut", StringComparison.Ordinal);
                if (random.Next(4) == 0)
                {
                    await Task.Delay(random.Next(1, 30));
                }
            }

            if (!stalled && !reader.IsCompleted)
            {
                // Still open: end it the orderly way. A client that stalled mid-frame sends nothing more; the
                // server's frame timeout closes it.
                await client.SendCloseAsync(1000);
                sent.Add("close 1000");
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            // The server closed first (what the reader sees); sending into a closed connection fails.
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(30));
        var history = string.Join(" | ", sent);
        if (badFrame is not null)
        {
            return $"seed {seed}: the server sent a malformed frame ({badFrame}) after: {history}";
        }

        if (closeCode is not { } code)
        {
            return $"seed {seed}: the connection ended without a close frame after: {history}";
        }

        // A close without a body (read as 1005, "no status") is allowed too: the answer to a client's own empty close.
        return code == 1005 || WebSocketConnection.IsValidClientCloseCode(code) ? string.Empty : $"seed {seed}: closed with {code}, which RFC 6455 does not allow, after: {history}";
    }

    /// <summary>Sends one random frame, sometimes malformed or cut short, and says what it was.</summary>
    private static async Task<string> SendRandomFrameAsync(RawWebSocket client, Random random, bool deflate)
    {
        var opcode = random.Next(10) switch
        {
            < 4 => 0x1,
            4 => 0x0,
            5 => 0x2,
            6 => 0x8,
            7 => 0x9,
            8 => 0xA,
            _ => random.Next(16),
        };
        var fin = random.Next(5) > 0;
        var masked = random.Next(12) > 0;
        var reserved = random.Next(12) == 0 ? random.Next(1, 8) : deflate && random.Next(4) == 0 ? 4 : 0;
        byte[] payload = random.Next(6) switch
        {
            0 => [],
            1 => RandomBytes(random, random.Next(1, 200)),
            2 => RandomBytes(random, new[] { 125, 126, 127, FrameLimit - 1, FrameLimit, FrameLimit + 1, 65_535, 65_536 }[random.Next(8)]),
            3 when opcode == 0x8 => ClosePayload(random),
            _ => Requests[random.Next(Requests.Length)],
        };

        var cut = random.Next(15) == 0;
        if (cut)
        {
            // A header or payload cut short, and then nothing more: the rest never comes.
            var frame = RawWebSocket.FrameBytes(opcode, payload, fin, masked, reserved);
            await client.SendRawAsync(frame.AsMemory(0, random.Next(1, frame.Length)));
            return $"op {opcode} len {payload.Length} cut";
        }

        await client.SendFrameAsync(opcode, payload, fin, masked, reserved);
        return $"op {opcode} fin {fin} mask {masked} rsv {reserved} len {payload.Length}";
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] ClosePayload(Random random)
    {
        var code = new[] { 999, 1000, 1001, 1004, 1005, 1006, 1015, 2000, 3000, 4321, 5000 }[random.Next(11)];
        var reason = random.Next(3) == 0 ? [0xC3, 0x28] : Encoding.UTF8.GetBytes("bye");
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        reason.CopyTo(payload, 2);
        return payload;
    }

    /// <summary>Counts the neighbour's updates frames and the longest time between two, until stopped.</summary>
    private static async Task<(int Updates, TimeSpan LongestGap)> WatchNeighbourAsync(ProtocolClient neighbour, CancellationToken stop)
    {
        var updates = 0;
        var longest = TimeSpan.Zero;
        var last = DateTime.UtcNow;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var message = await neighbour.ReceiveAsync().WaitAsync(stop);
                if (message?.Type() == "updates")
                {
                    updates++;
                    var now = DateTime.UtcNow;
                    longest = now - last > longest ? now - last : longest;
                    last = now;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        return (updates, longest);
    }
}
