using System.Net;
using System.Text.Json;

namespace MarketStream.Gateway.Tests;

/// <summary>PROTOCOL.md section 3: the Server-Sent Events fallback, read by a plain HTTP client.</summary>
public class SseTests
{
    [Fact]
    public async Task A_plain_HTTP_client_receives_a_snapshot_and_then_updates_for_the_requested_symbols()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT,EUR/USD"), ("Feed:Simulator:TicksPerSecond", 500));
        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 3), "state for every symbol");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/sse?symbols=aapl,EUR/USD&throttleMs=200");
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<(string Event, JsonElement Data)>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        string? name = null;
        while (events.Count(e => e.Event == "updates") < 3)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((name!, JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone()));
            }
        }

        var snapshotAt = events.FindIndex(e => e.Event == "snapshot");
        Assert.True(snapshotAt >= 0 && snapshotAt < events.FindIndex(e => e.Event == "updates"), "snapshot must come before updates");
        var snapshot = events[snapshotAt].Data;
        Assert.Equal("snapshot", snapshot.GetProperty("type").GetString());
        Assert.Equal(["AAPL", "EUR/USD"], snapshot.GetProperty("quotes").EnumerateArray().Select(q => q.GetProperty("symbol").GetString()).Order());

        var hello = events.Single(e => e.Event == "hello").Data;
        Assert.Equal("conflate", hello.GetProperty("policy").GetString());
        Assert.Equal(200, hello.GetProperty("throttleMs").GetInt32());

        var symbols = events.Where(e => e.Event == "updates")
            .SelectMany(e => e.Data.GetProperty("quotes").EnumerateArray())
            .Select(q => q.GetProperty("symbol").GetString())
            .ToHashSet();
        Assert.Subset(new HashSet<string?> { "AAPL", "EUR/USD" }, symbols);
    }

    [Theory]
    [InlineData("/sse", "bad_request")]
    [InlineData("/sse?symbols=??", "invalid_symbol")]
    [InlineData("/sse?symbols=AAPL&policy=drop-oldest", "bad_request")]
    [InlineData("/sse?symbols=AAPL&throttleMs=-1", "bad_request")]
    public async Task Bad_requests_are_refused_with_400_and_a_reason(string path, string code)
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Simulator:Enabled", false));
        var response = await gateway.Http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
    }
}
