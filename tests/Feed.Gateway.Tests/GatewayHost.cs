using System.Globalization;
using MarketStream.Gateway;
using Microsoft.Extensions.Logging;

namespace MarketStream.Gateway.Tests;

/// <summary>A real gateway (Kestrel on 127.0.0.1, a free port) built exactly as <c>Program</c> builds it.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly ErrorLog errors;

    private GatewayHost(WebApplication app, Uri address, ErrorLog errors)
    {
        this.errors = errors;
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public Market.MarketState State => Get<Market.MarketState>();

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    public static Task<GatewayHost> StartAsync(params (string Key, object Value)[] settings) => StartAsync(null, settings);

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
    public static Task<GatewayHost> StartWithClockAsync(TimeProvider time, params (string Key, object Value)[] settings) => StartAsync(null, time, settings);

    /// <summary>A gateway with a last say over its builder (a log provider of the test's, say).</summary>
    public static Task<GatewayHost> StartAsync(Action<WebApplicationBuilder>? configure, params (string Key, object Value)[] settings) =>
        StartAsync(configure, null, settings);

    private static async Task<GatewayHost> StartAsync(Action<WebApplicationBuilder>? configure, TimeProvider? time, (string Key, object Value)[] settings)
    {
        var args = new List<string> { "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning" };
        args.AddRange(settings.Select(s => $"--{s.Key}={Convert.ToString(s.Value, CultureInfo.InvariantCulture)}"));
        var errors = new ErrorLog();
        var app = GatewayApp.Create([.. args], builder =>
        {
            builder.Logging.AddProvider(errors);
            configure?.Invoke(builder);
        }, time);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new GatewayHost(app, new Uri(app.Urls.Single()), errors);
    }

    /// <summary>
    /// Error logs the test expects (a fault it provokes on purpose): matched by category or message. Any other
    /// Error entry fails the test when the gateway is disposed, so a fault no assertion looked for is not missed.
    /// </summary>
    public void ExpectErrors(Func<string, bool> match) => errors.Expected.Add(match);

    /// <summary>The Error entries logged so far.</summary>
    public IReadOnlyCollection<string> ErrorLogs => errors.Entries;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
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
