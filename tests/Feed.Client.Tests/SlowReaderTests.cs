namespace MarketStream.Client.Tests;

public class SlowReaderTests
{
    [Fact]
    public async Task A_reader_that_pauses_while_quotes_flow_finds_at_most_one_quote_per_symbol_buffered()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 1000));
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 0 });
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL", "MSFT"]));

            // The reader pauses for 1.5 s while about 1,500 ticks arrive.
            var maxBuffered = 0;
            var pausedUntil = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
            while (DateTime.UtcNow < pausedUntil)
            {
                maxBuffered = Math.Max(maxBuffered, client.BufferedCount);
                await Task.Delay(10);
            }

            Assert.True(client.Counters.QuotesReceived > 100, $"quotes did not flow: {client.Counters.QuotesReceived}");
            Assert.InRange(maxBuffered, 1, 2);
            Assert.True(client.Counters.QuotesCoalesced > 100, $"expected coalescing, saw {client.Counters.QuotesCoalesced}");

            // What the reader finally gets says how much it missed.
            var first = await Wait.ReadUntil(client, q => q.Count >= 1, "the buffered quote");
            Assert.True(first[0].Conflated > 0, "the surviving quote does not count the quotes it replaced");
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }
}
