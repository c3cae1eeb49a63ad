using MarketStream.Gateway.Streaming;

namespace MarketStream.Client.Tests;

public class FeedClientGatewayTests
{
    [Fact]
    public async Task Subscribing_delivers_a_snapshot_then_updates_with_seq_increasing_per_symbol()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 500));
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 0 });
        try
        {
            await Wait.For(client.ConnectAsync());
            Assert.Equal(ConnectionState.Connected, client.State);

            // The snapshot may be empty while the gateway warms up; the subscription stands either way.
            await Wait.For(client.SubscribeAsync(["aapl", "MSFT"]));
            Assert.Equal(["AAPL", "MSFT"], client.Subscriptions.Order());

            var quotes = await Wait.ReadUntil(client, q => q.Count(x => x.Symbol == "AAPL") >= 20 && q.Count(x => x.Symbol == "MSFT") >= 20, "20 quotes of each symbol");

            Assert.All(quotes, q => Assert.Contains(q.Symbol, new[] { "AAPL", "MSFT" }));
            foreach (var symbol in new[] { "AAPL", "MSFT" })
            {
                var seqs = quotes.Where(q => q.Symbol == symbol).Select(q => q.Seq).ToList();
                Assert.True(seqs.Zip(seqs.Skip(1)).All(p => p.First < p.Second), $"{symbol} seq not strictly increasing: {string.Join(",", seqs)}");
            }

            Assert.All(quotes, q => Assert.True(q.Quote.Bid is > 0 || q.Quote.Ask is > 0 || q.Quote.Last is > 0, "a quote without a price"));
            Assert.All(quotes.Where(q => q.IsSnapshot), q => Assert.True(quotes.IndexOf(q) < 2, "a snapshot quote came after updates"));
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }

        Assert.Equal(ConnectionState.Disposed, client.State);
        await Eventually.Holds(() => gateway.Get<GatewayStats>().Connections == 0, "the gateway to see the connection closed");
    }

    [Fact]
    public async Task Connections_go_through_the_callers_own_http_handler_from_the_address_it_chooses()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL"), ("Feed:Simulator:TicksPerSecond", 200));
        var locals = new System.Collections.Concurrent.ConcurrentQueue<System.Net.EndPoint>();
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                locals.Enqueue(socket.LocalEndPoint!);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 0, HttpInvoker = invoker });
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL"]));
            await Wait.ReadUntil(client, q => q.Any(x => !x.IsSnapshot), "an update through the handler");
            var local = Assert.IsType<System.Net.IPEndPoint>(Assert.Single(locals));
            Assert.Equal("127.0.0.2", local.Address.MapToIPv4().ToString());
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }

        // The handler is the caller's: still usable after the client is gone.
        using var probe = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Address, "/healthz/live")), CancellationToken.None);
        Assert.True(probe.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Unsubscribing_stops_quotes_of_that_symbol()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Simulator:TicksPerSecond", 500));
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 0 });
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL", "MSFT"]));
            await Wait.ReadUntil(client, q => q.Any(x => x.Symbol == "MSFT"), "an MSFT quote");

            await Wait.For(client.UnsubscribeAsync(["MSFT"]));
            var after = await Wait.ReadUntil(client, q => q.Count >= 30, "30 more quotes");

            Assert.All(after, q => Assert.Equal("AAPL", q.Symbol));
            Assert.Equal(["AAPL"], client.Subscriptions);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }

    [Fact]
    public async Task A_subscription_over_the_gateway_limit_throws_TooManySymbolsException_and_is_not_kept()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL,MSFT"), ("Feed:Gateway:MaxSymbolsPerConnection", 1));
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address });
        try
        {
            await Wait.For(client.SubscribeAsync(["AAPL"]));

            var error = await Assert.ThrowsAsync<TooManySymbolsException>(() => Wait.For(client.SubscribeAsync(["MSFT"])));

            Assert.Equal(ErrorCodes.TooManySymbols, error.Code);
            Assert.Equal(["AAPL"], client.Subscriptions);
            Assert.Equal(ConnectionState.Connected, client.State);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }

    [Fact]
    public async Task An_invalid_symbol_throws_InvalidSymbolException_without_touching_the_subscriptions()
    {
        var client = new FeedClient(new FeedClientOptions { Endpoint = new Uri("ws://127.0.0.1:1/ws") });
        try
        {
            var error = await Assert.ThrowsAsync<InvalidSymbolException>(() => Wait.For(client.SubscribeAsync(["AAPL", "??"])));

            Assert.Equal(["??"], error.Symbols);
            Assert.Empty(client.Subscriptions);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }

    [Fact]
    public async Task Configure_returns_the_settings_the_server_confirmed()
    {
        await using var gateway = await TestGateway.StartAsync(("Feed:Simulator:Symbols", "AAPL"));
        var client = new FeedClient(new FeedClientOptions { Endpoint = gateway.Address, ThrottleMs = 250 });
        try
        {
            await Wait.For(client.ConnectAsync());

            var settings = await Wait.For(client.ConfigureAsync(1000, DeliveryPolicy.DropOldest));

            Assert.Equal(new SessionSettings(1000, DeliveryPolicy.DropOldest), settings);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }
}
