using MarketStream.Contracts;
using static MarketStream.Gateway.Tests.Streaming.SessionDeliveryTests;
using static MarketStream.Gateway.Tests.Streaming.SessionRequestTests;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The lock-free hand-over between the market-state writer and the senders, under real concurrency: a writer
/// thread publishes as fast as it can while the senders (on their scheduler thread) park, are woken, read the
/// newest quotes and send. A lost wake-up leaves a client without the last quote (and the wait times out); a race
/// in the accounting shows as a tick counted twice or not at all.
/// </summary>
public class ConcurrentFanOutTests
{
    private static readonly string[] Symbols = ["S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7"];

    /// <remarks>
    /// Conflate is the lock-free path (park, wake, read the newest quote); the queue policies hand over under the
    /// session's lock. Throttle 0: every send is followed by a look and, often, a park, so parks and wake-ups race
    /// the writer thousands of times.
    /// </remarks>
    [Fact]
    public async Task With_a_writer_racing_the_senders_every_client_gets_the_last_quote_and_every_tick_is_accounted_for()
    {
        await using var h = new SessionHarness();
        var clients = new List<TestConnection>();
        for (var i = 0; i < 6; i++)
        {
            clients.Add(await SubscribedAsync(h, 0, DeliveryPolicy.Conflate, Symbols));
        }

        // Bursts of ticks from a writer thread, each ending at a random moment for the senders; after each burst
        // every client must get the burst's last quote of every symbol by itself (nothing else will wake it): a
        // wake-up lost between a sender's last look and its park leaves one behind.
        var last = new Dictionary<string, Quote>(StringComparer.Ordinal);
        var random = new Random(7);
        for (var burst = 0; burst < 60; burst++)
        {
            var size = random.Next(1, 400);
            var spin = random.Next(0, 5_000);
            var newest = await Task.Run(() =>
            {
                var mine = new Dictionary<string, Quote>(StringComparer.Ordinal);
                for (var i = 0; i < size; i++)
                {
                    var symbol = Symbols[(i * 7 + burst) % Symbols.Length];
                    mine[symbol] = h.Publish(symbol, 1m + (i % 1000 / 100m));
                    Thread.SpinWait(spin / size);
                }

                return mine;
            });
            foreach (var (symbol, quote) in newest)
            {
                last[symbol] = quote;
            }

            foreach (var c in clients)
            {
                foreach (var (symbol, quote) in newest)
                {
                    await c.WaitForSeqAsync(symbol, quote.Seq);
                }
            }
        }

        foreach (var c in clients)
        {
            foreach (var (symbol, quote) in last)
            {
                await c.WaitForSeqAsync(symbol, quote.Seq);
            }

            var quotes = c.UpdateQuotes();
            foreach (var (symbol, quote) in last)
            {
                var mine = quotes.Where(q => q.GetProperty("symbol").GetString() == symbol).ToList();
                AssertStrictlyIncreasing([.. mine.Select(q => q.GetProperty("seq").GetInt64())]);
                var accounted = mine.Count + mine.Sum(q => Count(q, "conflated")) + mine.Sum(q => Count(q, "dropped"));
                Assert.True(quote.Version == accounted, $"{symbol}: {quote.Version} ticks, {accounted} accounted for ({mine.Count} quotes)");
            }
        }
    }
}
