using System.Diagnostics.Metrics;
using System.Text;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>
/// The outermost scope of a connection: whatever is thrown, by the transport or on the receive path, the session
/// is closed and leaves the registry, the subscription index and the connections gauge.
/// </summary>
public class SessionHostTests
{
    [Fact]
    public async Task A_transport_that_throws_something_unexpected_ends_its_session_and_leaves_nothing_behind()
    {
        await using var world = new HostWorld();
        var transport = new ThrowingTransport(throwOnSend: 3);
        var closed = world.RunAsync(transport, async session =>
        {
            session.HandleFrame("""{"op":"subscribe","symbols":["AAPL","MSFT"]}"""u8);

            // The receive path waits like a socket read does, until the transport is aborted.
            await transport.Aborted.WaitAsync(SessionHarness.Timeout);
        });

        await closed.WaitAsync(SessionHarness.Timeout);
        Assert.True(transport.Aborted.IsCompleted);
        world.AssertNothingLeft();
    }

    [Fact]
    public async Task An_unexpected_exception_on_the_receive_path_closes_and_unregisters_the_session()
    {
        await using var world = new HostWorld();
        var transport = new ThrowingTransport(throwOnSend: int.MaxValue);
        var closed = world.RunAsync(transport, session =>
        {
            session.HandleFrame("""{"op":"subscribe","symbols":["AAPL"]}"""u8);
            Assert.Equal(1, world.Registry.Count);
            Assert.Equal(1, world.Index.SubscriptionCount);
            throw new NotSupportedException("a bug in a frame handler");
        });

        await closed.WaitAsync(SessionHarness.Timeout);
        Assert.True(transport.Aborted.IsCompleted);
        world.AssertNothingLeft();
    }

    /// <summary>What a host needs from a gateway, with real parts on the system clock.</summary>
    private sealed class HostWorld : IAsyncDisposable
    {
        private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        private readonly SendScheduler scheduler = new(TimeProvider.System, 1);
        private readonly SessionHost host;

        public HostWorld()
        {
            var options = Options.Create(new GatewayOptions { CloseTimeoutMs = 500 });
            Stats = new GatewayStats(services.GetRequiredService<IMeterFactory>(), Index);
            Registry = new SessionRegistry(options, Options.Create(new AuthOptions()), Stats, TimeProvider.System, NullLogger<SessionRegistry>.Instance);
            var factory = new SessionFactory(new MarketState(), Index, Stats, options, TimeProvider.System, scheduler, new StreamEpoch(), NullLoggerFactory.Instance);
            host = new SessionHost(factory, Registry, NullLogger<SessionHost>.Instance);
        }

        public SubscriptionIndex Index { get; } = new();

        public GatewayStats Stats { get; }

        public SessionRegistry Registry { get; }

        public Task RunAsync(ISessionTransport transport, Func<Session, Task> receive) =>
            Task.Run(() => host.RunAsync(transport, 0, DeliveryPolicy.Conflate, new ConnectionIdentity(null, "127.0.0.1", Entitlements.All, null), receive));

        public void AssertNothingLeft()
        {
            Assert.Equal(0, Registry.Count);
            Assert.Equal(0, Index.SubscriptionCount);
            Assert.Equal(0, Stats.Connections);
        }

        public async ValueTask DisposeAsync()
        {
            scheduler.Dispose();
            await services.DisposeAsync();
        }
    }

    /// <summary>A transport whose n-th send throws an exception no transport is expected to throw.</summary>
    private sealed class ThrowingTransport(int throwOnSend) : ISessionTransport
    {
        private readonly TaskCompletionSource aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int sends;

        public Task Aborted => aborted.Task;

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref sends) >= throwOnSend)
            {
                throw new NotSupportedException($"send #{sends} ({Encoding.UTF8.GetString(message.Span)[..Math.Min(20, message.Length)]}) failed oddly");
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Abort() => aborted.TrySetResult();
    }
}
