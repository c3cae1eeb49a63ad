using System.Text.Json;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Tests;

/// <summary>Every kind of bad input gets its specified answer, while another client on the same gateway keeps streaming.</summary>
public class BadInputTests
{
    [Fact]
    public async Task Each_bad_request_gets_its_error_and_the_connection_and_a_neighbour_keep_working()
    {
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 400), ("Feed:Gateway:MaxSymbolsPerConnection", 3));
        await using var neighbour = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await neighbour.ReceiveUntilAsync("hello");
        await neighbour.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
        await neighbour.ReceiveUntilAsync("snapshot");
        var neighbourFrames = CountUpdatesAsync(neighbour);

        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        await client.ReceiveUntilAsync("hello");

        var cases = new (string Frame, string Code, string? Id)[]
        {
            ("this is not json", ErrorCodes.BadRequest, null),
            ("""[{"op":"ping"}]""", ErrorCodes.BadRequest, null),
            ("""{"op":"teleport","id":1}""", ErrorCodes.BadRequest, "1"),
            ("""{"id":2}""", ErrorCodes.BadRequest, "2"),
            ("""{"op":"subscribe","id":3,"symbols":"AAPL"}""", ErrorCodes.BadRequest, "3"),
            ("""{"op":"subscribe","id":4,"symbols":[1,2]}""", ErrorCodes.BadRequest, "4"),
            ("""{"op":"configure","id":5,"throttleMs":"fast"}""", ErrorCodes.BadRequest, "5"),
            ("""{"op":"configure","id":6,"throttleMs":60001}""", ErrorCodes.BadRequest, "6"),
            ("""{"op":"configure","id":7,"policy":"yolo"}""", ErrorCodes.BadRequest, "7"),
            ("""{"op":"ping","id":{"nested":true}}""", ErrorCodes.BadRequest, null),
            ("""{"op":"subscribe","id":8,"symbols":["??","-BAD"]}""", ErrorCodes.InvalidSymbol, "8"),
            ("""{"op":"subscribe","id":9,"symbols":["A","B","C","D"]}""", ErrorCodes.TooManySymbols, "9"),
        };

        foreach (var (frame, code, id) in cases)
        {
            await client.SendAsync(frame);
            var error = (await client.ReceiveUntilAsync("error")).Message;
            Assert.True(code == error.GetProperty("code").GetString(), $"{frame} -> {error}");
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
            if (id is null)
            {
                Assert.False(error.TryGetProperty("id", out _), $"{frame} -> {error}");
            }
            else
            {
                Assert.Equal(id, error.GetProperty("id").GetRawText());
            }
        }

        await client.SendBinaryAsync([1, 2, 3]);
        Assert.Equal(ErrorCodes.BadRequest, (await client.ReceiveUntilAsync("error")).Message.GetProperty("code").GetString());

        // The invalid_symbol error lists exactly the offending symbols.
        await client.SendAsync("""{"op":"subscribe","id":10,"symbols":["AAPL","no way"]}""");
        var (error10, before) = await client.ReceiveUntilAsync("error");
        Assert.Equal(["no way"], error10.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains(before, m => m.Type() == "subscribed" && m.GetProperty("symbols")[0].GetString() == "AAPL");

        // Still open and answering.
        await client.SendAsync("""{"op":"ping","id":99}""");
        Assert.Equal(99, (await client.ReceiveUntilAsync("pong")).Message.GetProperty("id").GetInt32());
        Assert.True(await neighbourFrames.WaitAsync(TimeSpan.FromSeconds(15)) >= 10);
    }

    [Fact]
    public async Task A_frame_over_the_size_limit_closes_with_1009_and_the_neighbour_keeps_streaming()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Simulator:TicksPerSecond", 400));
        await using var neighbour = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await neighbour.ReceiveUntilAsync("hello");
        await neighbour.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
        await neighbour.ReceiveUntilAsync("snapshot");

        await using var client = await ProtocolClient.ConnectAsync(gateway.Address);
        await client.ReceiveUntilAsync("hello");
        var huge = """{"op":"ping","pad":""" + "\"" + new string('x', 17 * 1024) + "\"}";
        await client.SendAsync(huge);
        Assert.Equal(CloseCodes.MessageTooBig, await client.ReceiveCloseAsync());

        Assert.True(await CountUpdatesAsync(neighbour).WaitAsync(TimeSpan.FromSeconds(15)) >= 10);
    }

    [Fact]
    public async Task A_request_flood_is_rate_limited_then_closed_with_4029_and_the_neighbour_keeps_streaming()
    {
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Simulator:Symbols", "AAPL"), ("Feed:Simulator:TicksPerSecond", 400), ("Feed:Gateway:MaxRequestsPerSecond", 10));
        await using var neighbour = await ProtocolClient.ConnectAsync(gateway.Address, "throttleMs=0");
        await neighbour.ReceiveUntilAsync("hello");
        await neighbour.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
        await neighbour.ReceiveUntilAsync("snapshot");

        await using var flooder = await ProtocolClient.ConnectAsync(gateway.Address);
        await flooder.ReceiveUntilAsync("hello");
        var reading = Task.Run(async () =>
        {
            var types = new List<string>();
            while (await flooder.ReceiveAsync() is { } message)
            {
                types.Add(message.Type()!);
            }

            return types;
        });

        for (var i = 0; i < 200 && flooder.Socket.State == System.Net.WebSockets.WebSocketState.Open; i++)
        {
            try
            {
                await flooder.SendAsync($$"""{"op":"ping","id":{{i}}}""");
            }
            catch (System.Net.WebSockets.WebSocketException)
            {
                break;
            }
        }

        var received = await reading.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(CloseCodes.TooManyRequests, (int)flooder.CloseStatus!.Value);
        Assert.Contains("pong", received);
        Assert.Contains("error", received);
        Assert.True(await CountUpdatesAsync(neighbour).WaitAsync(TimeSpan.FromSeconds(15)) >= 10);
    }

    private static async Task<int> CountUpdatesAsync(ProtocolClient client, int wanted = 10)
    {
        var count = 0;
        while (count < wanted)
        {
            var message = await client.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(message);
            if (message.Value.Type() == "updates")
            {
                count++;
            }
        }

        return count;
    }
}
