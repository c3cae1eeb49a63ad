using System.Globalization;
using MarketStream.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace MarketStream.Testing;

/// <summary>
/// The one in-process gateway of every test project: Kestrel on 127.0.0.1 (a free port, or a given one to restart
/// "the same" gateway), built by <see cref="GatewayApp"/> exactly as <c>Program</c> builds it. Disposing it stops it
/// and fails the test if the gateway logged an Error the test did not expect (<see cref="ExpectErrors"/>).
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly ErrorLog errors;
    private int stopped;

    private GatewayHost(WebApplication app, Uri address, ErrorLog errors)
    {
        this.errors = errors;
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>How long a start waits for the ingest to warm before it hands over a gateway that has not.</summary>
    public static readonly TimeSpan ColdStartWait = TimeSpan.FromSeconds(20);

    public WebApplication App { get; }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public int Port => Address.Port;

    public MarketStream.Gateway.Market.MarketState State => Get<MarketStream.Gateway.Market.MarketState>();

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    public static Task<GatewayHost> StartAsync(params (string Key, object Value)[] settings) => StartAsync(null, settings);

    /// <summary>A gateway on <paramref name="port"/> (0: any free one), to restart on the port a stopped one had.</summary>
    public static Task<GatewayHost> StartOnPortAsync(int port, params (string Key, object Value)[] settings) => StartAsync(null, null, port, settings);

    /// <summary>
    /// A gateway whose sockets buffer little (8 KiB kernel send buffer, 16 KiB Kestrel response buffer), so a
    /// client that stops reading blocks the server's sends within a fraction of a second, as on a slow link,
    /// instead of after the megabytes loopback would otherwise absorb.
    /// </summary>
    public static Task<GatewayHost> StartWithSmallSendBuffersAsync(params (string Key, object Value)[] settings) => StartAsync(builder =>
    {
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(o =>
            o.CreateBoundListenSocket = endpoint =>
            {
                // Accepted sockets inherit the listening socket's buffer sizes.
                var socket = Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = 8 * 1024;
                return socket;
            });
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.Limits.MaxResponseBufferSize = 16 * 1024);
    }, settings);

    /// <summary>A gateway on <paramref name="time"/>: a test's fake clock drives its heartbeats, throttles and deadlines.</summary>
    public static Task<GatewayHost> StartWithClockAsync(TimeProvider time, params (string Key, object Value)[] settings) => StartAsync(null, time, 0, settings);

    /// <summary>A gateway with a last say over its builder (a log provider of the test's, say).</summary>
    public static Task<GatewayHost> StartAsync(Action<WebApplicationBuilder>? configure, params (string Key, object Value)[] settings) =>
        StartAsync(configure, null, 0, settings);

    /// <summary>
    /// A gateway started with exactly <paramref name="args"/>, as a deployment starts it (its own URLs or
    /// <c>HTTP_PORTS</c>, its own log levels). <see cref="Address"/> is its one URL, a wildcard host read as 127.0.0.1.
    /// </summary>
    public static Task<GatewayHost> StartWithArgumentsAsync(params string[] args) => StartAsync(args, null, null);

    private static Task<GatewayHost> StartAsync(Action<WebApplicationBuilder>? configure, TimeProvider? time, int port, (string Key, object Value)[] settings) =>
        StartAsync(
        [
            $"--urls=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning",
            .. settings.Select(s => $"--{s.Key}={Convert.ToString(s.Value, CultureInfo.InvariantCulture)}"),
        ], configure, time);

    private static async Task<GatewayHost> StartAsync(string[] args, Action<WebApplicationBuilder>? configure, TimeProvider? time)
    {
        var errors = new ErrorLog();
        var app = GatewayApp.Create(args, builder =>
        {
            builder.Logging.AddProvider(errors);
            configure?.Invoke(builder);
        }, time);
        try
        {
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            throw;
        }

        // A gateway refuses streams until its ingest has caught up with Kafka (Admission): wait for that, as a
        // deployment waits for readiness before it routes clients. A test that starts one which cannot warm (its
        // broker down on purpose) gets it after the wait, cold.
        var ingest = app.Services.GetRequiredService<MarketStream.Ingest.IngestStatus>();
        await Task.WhenAny(ingest.WarmedUp, Task.Delay(ColdStartWait)).ConfigureAwait(false);

        // The public URL; with a management port the gateway listens on two.
        var management = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MarketStream.Gateway.Streaming.GatewayOptions>>().Value.ManagementPort;
        var urls = app.Urls.Select(u => new UriBuilder(u.Replace("//*:", "//0.0.0.0:", StringComparison.Ordinal).Replace("//+:", "//0.0.0.0:", StringComparison.Ordinal))).ToList();
        var url = urls.Single(u => u.Port != management);
        if (url.Host is "0.0.0.0" or "[::]" or "::")
        {
            url.Host = "127.0.0.1";
        }

        return new GatewayHost(app, url.Uri, errors);
    }

    /// <summary>
    /// Error logs the test expects (a fault it provokes on purpose): matched by category or message. Any other
    /// Error entry fails the test when the gateway is disposed, so a fault no assertion looked for is not missed.
    /// </summary>
    public void ExpectErrors(Func<string, bool> match) => errors.Expected.Add(match);

    /// <summary>The Error entries logged so far.</summary>
    public IReadOnlyCollection<string> ErrorLogs => errors.Entries;

    /// <summary>The readiness probe's status code (0 when nothing answers).</summary>
    public async Task<int> ReadinessAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(5));
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException)
        {
            return 0;
        }
    }

    public Task WaitReadyAsync(TimeSpan? timeout = null) =>
        Eventually.Holds(async () => await ReadinessAsync() == 200, "the gateway to be ready", timeout);

    /// <summary>Stops the gateway (draining its clients) and frees its port; idempotent. Errors are checked at dispose.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return;
        }

        Http.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        var unexpected = errors.Entries.Where(e => !errors.Expected.Any(match => match(e))).ToList();
        Assert.True(unexpected.Count == 0, $"the gateway logged {unexpected.Count} unexpected error(s):\n{string.Join("\n", unexpected)}");
    }

    /// <summary>Every entry logged at Error or above, as "category: message exception".</summary>
    private sealed class ErrorLog : ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Entries { get; } = new();

        public System.Collections.Concurrent.ConcurrentBag<Func<string, bool>> Expected { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ErrorLog owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    owner.Entries.Enqueue($"{category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
