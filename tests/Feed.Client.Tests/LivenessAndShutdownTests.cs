using System.Net.WebSockets;
using Microsoft.Extensions.Time.Testing;

namespace MarketStream.Client.Tests;

public class LivenessAndShutdownTests
{
    [Fact]
    public async Task A_server_that_goes_silent_is_reported_stale_and_the_client_reconnects()
    {
        await using var server = await FakeFeedServer.StartSilentAsync(heartbeatMs: 200);
        var client = new FeedClient(new FeedClientOptions { Endpoint = server.Address, InitialBackoff = TimeSpan.FromMilliseconds(50) });
        var states = new StateRecorder(client);
        try
        {
            await Wait.For(client.ConnectAsync());

            // 2.5 × 200 ms of silence makes it stale.
            await Eventually.Holds(() => states.Saw(ConnectionState.Reconnecting, DisconnectReason.Stale), "a stale report", TimeSpan.FromSeconds(10));
            await Eventually.Holds(() => server.Attempts >= 2 && client.State == ConnectionState.Connected, "a new connection", TimeSpan.FromSeconds(10));

            Assert.True(client.Counters.StaleDetections >= 1);
            Assert.Contains(null, server.Closes);
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }

    [Fact]
    public async Task A_stale_connection_is_not_declared_before_the_stale_window()
    {
        // heartbeatMs 2000 x StaleFactor 2.5: a 5 s window, on a clock the test moves.
        await using var server = await FakeFeedServer.StartSilentAsync(heartbeatMs: 2000);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var client = new FeedClient(new FeedClientOptions { Endpoint = server.Address }, clock);
        var states = new StateRecorder(client);
        try
        {
            await Wait.For(client.ConnectAsync());
            await Eventually.Holds(() => client.State == ConnectionState.Connected, "connected");

            // Just inside the window, in the watchdog's own steps: still connected.
            for (var elapsed = 0; elapsed < 4_900; elapsed += 700)
            {
                clock.Advance(TimeSpan.FromMilliseconds(Math.Min(700, 4_900 - elapsed)));
            }

            // A stale verdict would abort the socket from the watchdog's callback; give such an abort the time the
            // second half of this test shows it needs to surface, and fail the moment one does.
            await Eventually.Throughout(
                () => client.State == ConnectionState.Connected && client.Counters.StaleDetections == 0,
                "connected, with no stale verdict, inside the window", TimeSpan.FromMilliseconds(300));
            Assert.False(states.Saw(ConnectionState.Reconnecting));

            // Past it: stale, and the client says so.
            clock.Advance(TimeSpan.FromMilliseconds(1_500));
            await Eventually.Holds(() => client.Counters.StaleDetections == 1, "the stale report once the window has passed");
            Assert.True(states.Saw(ConnectionState.Reconnecting, DisconnectReason.Stale));
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }

    [Fact]
    public async Task Disposing_closes_the_socket_with_1000_and_ends_the_quote_stream()
    {
        await using var server = await FakeFeedServer.StartSilentAsync(heartbeatMs: 5000);
        var client = new FeedClient(new FeedClientOptions { Endpoint = server.Address });
        await Wait.For(client.ConnectAsync());
        using var cts = new CancellationTokenSource(Wait.Timeout);
        var reading = Task.Run(async () =>
        {
            var n = 0;
            await foreach (var unused in client.ReadAllAsync(cts.Token))
            {
                n++;
            }

            return n;
        });

        await Wait.For(client.DisposeAsync());

        await Eventually.Holds(() => !server.Closes.IsEmpty, "the server to see the close");
        Assert.Equal([WebSocketCloseStatus.NormalClosure], server.Closes);
        Assert.Equal(0, await Wait.For(reading));
        Assert.Equal(ConnectionState.Disposed, client.State);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Wait.For(client.SubscribeAsync(["AAPL"])));
    }

    [Fact]
    public async Task Refused_connections_are_retried_with_exponential_backoff_up_to_the_cap()
    {
        await using var server = await FakeFeedServer.StartRefusingAsync();
        var time = new FakeTimeProvider();
        var options = new FeedClientOptions
        {
            Endpoint = server.Address, InitialBackoff = TimeSpan.FromMilliseconds(250), MaxBackoff = TimeSpan.FromSeconds(1), Jitter = 0,
        };
        var client = new FeedClient(options, time);
        try
        {
            using var cts = new CancellationTokenSource();
            var connecting = client.ConnectAsync(cts.Token);
            await Eventually.Holds(() => server.Attempts == 1, "the first attempt");

            // Waits of 250 ms, 500 ms, 1 s, then 1 s again (the cap).
            foreach (var (wait, expected) in new[] { (250, 2), (500, 3), (1000, 4), (1000, 5) })
            {
                // The one sleep of this test: the client arms its backoff timer after it has torn the failed attempt
                // down, and nothing it exposes says when; a fake clock moved before that would move past nothing.
                await Task.Delay(100);
                time.Advance(TimeSpan.FromMilliseconds(wait - 1));
                await Eventually.Throughout(() => server.Attempts == expected - 1, $"no attempt {expected} 1 ms before its backoff ends", TimeSpan.FromMilliseconds(150));

                time.Advance(TimeSpan.FromMilliseconds(1));
                await Eventually.Holds(() => server.Attempts == expected, $"attempt {expected}");
            }

            Assert.Equal(ConnectionState.Connecting, client.State);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Wait.For(connecting));
        }
        finally
        {
            await Wait.For(client.DisposeAsync());
        }
    }
}
