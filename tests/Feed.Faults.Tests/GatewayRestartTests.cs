using System.Collections.Concurrent;
using MarketStream.Client;
using MarketStream.Contracts;
using MarketStream.Faults.Tests.Infrastructure;

namespace MarketStream.Faults.Tests;

/// <summary>A gateway replaced under its clients (a rolling restart with one replica): the client library rides it out alone.</summary>
public class GatewayRestartTests(ITestOutputHelper output)
{
    private static readonly string[] Symbols = ["RST1", "RST2", "RST3"];

    [Fact]
    public async Task A_FeedClient_resumes_by_itself_when_the_replacement_gateway_comes_up_with_seq_still_increasing_and_the_latest_quote_kept()
    {
        using var kafka = new FaultKafka(brokers: 1, partitions: 3);
        var a = await FaultGateway.StartAsync(kafka, 0, ("Feed:Gateway:DrainSeconds", 1));
        var port = a.Port;
        GatewayHost? b = null;
        try
        {
            await a.WaitReadyAsync();
            var states = new ConcurrentQueue<ConnectionStateChangedEventArgs>();
            await using var client = new FeedClient(new FeedClientOptions
            {
                Endpoint = a.Address,
                ThrottleMs = 0,
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromMilliseconds(500),
            });
            client.StateChanged += (_, e) => states.Enqueue(e);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(25));
            await client.ConnectAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(10));
            await client.SubscribeAsync(Symbols, timeout.Token).WaitAsync(TimeSpan.FromSeconds(10));

            var read = new ConcurrentQueue<QuoteUpdate>();
            var reader = Task.Run(async () =>
            {
                try
                {
                    await foreach (var update in client.ReadAllAsync(timeout.Token))
                    {
                        read.Enqueue(update);
                    }
                }
                catch (OperationCanceledException)
                {
                    // The test is over.
                }
            });

            // A market that never stops: before, during and after the restart.
            var lastProduced = new ConcurrentDictionary<string, decimal>();
            using var stopProducing = new CancellationTokenSource();
            var producing = Task.Run(async () =>
            {
                for (var i = 0; !stopProducing.IsCancellationRequested; i++)
                {
                    var symbol = Symbols[i % Symbols.Length];
                    var last = 10m + (i / 100m);
                    kafka.Produce(new Tick { Symbol = symbol, Ts = FaultKafka.NowMicros, Last = last });
                    lastProduced[symbol] = last;
                    await Task.Delay(10, CancellationToken.None);
                }
            });
            await Eventually.Holds(() => read.Count > 30, "quotes from gateway A", TimeSpan.FromSeconds(10));
            var sessionA = client.SessionId;

            // Replace A by B on the same port and cluster, with a gap between them in which ticks keep coming.
            await a.StopAsync();
            await Eventually.Holds(() => client.State == ConnectionState.Reconnecting, "the client to notice A is gone", TimeSpan.FromSeconds(10));
            await Task.Delay(1_000);
            b = await FaultGateway.StartAsync(kafka, port);
            await Eventually.Holds(() => client.State == ConnectionState.Connected && client.SessionId != sessionA, "the client back, on B", TimeSpan.FromSeconds(15));
            var countAtB = read.Count;
            await Eventually.Holds(() => read.Count > countAtB + 30, "quotes from gateway B", TimeSpan.FromSeconds(10));

            await stopProducing.CancelAsync();
            await producing.WaitAsync(TimeSpan.FromSeconds(5));
            kafka.Flush();

            // What the contract promises across a restart: the current state, not a replay; so the latest quote
            // of every symbol is the latest tick produced.
            await Eventually.Holds(
                () => Symbols.All(s => read.LastOrDefault(u => u.Symbol == s)?.Quote.Last == lastProduced[s]),
                "the latest produced quote of every symbol at the reader", TimeSpan.FromSeconds(10));

            output.WriteLine($"{read.Count} quotes read, {client.Counters.Connects} connects, {client.Counters.QuotesNotNewer} not-newer quotes discarded by the client");
            Assert.True(client.Counters.Connects >= 2, $"{client.Counters.Connects} connects");
            Assert.Equal(Symbols.Order(), client.Subscriptions.Order());
            Assert.Contains(states, s => s.Current == ConnectionState.Reconnecting);
            foreach (var symbol in Symbols)
            {
                var seqs = read.Where(u => u.Symbol == symbol).Select(u => u.Seq).ToArray();
                Assert.True(seqs.Zip(seqs.Skip(1), (x, y) => y > x).All(ok => ok), $"{symbol}: seq went back: {string.Join(",", seqs)}");
            }

            await timeout.CancelAsync();
            await client.DisposeAsync();
            await reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            await a.DisposeAsync();
            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }
    }
}
