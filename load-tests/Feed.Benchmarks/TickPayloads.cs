using MarketStream.Contracts;

namespace MarketStream.Benchmarks;

/// <summary>
/// Realistic tick records: 500 symbols, 70 % of ticks carrying only what changed (as the simulator sends),
/// prices with two to four decimals. Fixed seed, so every run decodes the same bytes.
/// </summary>
public static class TickPayloads
{
    public const int Count = 1_024;

    public static string[] Symbols { get; } = [.. Enumerable.Range(1, 500).Select(i => $"S{i:D4}")];

    public static byte[][] Create()
    {
        var random = new Random(7);
        var payloads = new byte[Count][];
        for (var i = 0; i < Count; i++)
        {
            var price = 10m + (random.Next(1_000_000) / 100m);
            var tick = random.NextDouble() < 0.7
                ? new Tick { Symbol = Symbols[random.Next(Symbols.Length)], Ts = 1_795_356_633_535_123 + i, Bid = price, BidSize = random.Next(1, 5_000) }
                : new Tick
                {
                    Symbol = Symbols[random.Next(Symbols.Length)],
                    Ts = 1_795_356_633_535_123 + i,
                    Bid = price,
                    Ask = price + 0.02m,
                    Last = price + 0.01m,
                    BidSize = random.Next(1, 5_000),
                    AskSize = random.Next(1, 5_000),
                    LastSize = random.Next(1, 500),
                    Venue = "XNAS",
                };
            payloads[i] = TickEncoder.ToUtf8(tick);
        }

        return payloads;
    }

    public static Quote FullQuote(string symbol, long seq) => new()
    {
        Symbol = symbol,
        Seq = seq,
        Ts = 1_795_356_633_535_123,
        Bid = 189.12m,
        Ask = 189.14m,
        Last = 189.13m,
        BidSize = 100,
        AskSize = 300,
        LastSize = 50,
        Venue = "XNAS",
    };
}
