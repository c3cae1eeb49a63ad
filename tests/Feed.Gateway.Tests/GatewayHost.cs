using System.Globalization;
using MarketStream.Gateway;

namespace MarketStream.Gateway.Tests;

/// <summary>A real gateway (Kestrel on 127.0.0.1, a free port) built exactly as <c>Program</c> builds it.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private GatewayHost(WebApplication app, Uri address)
    {
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

    /// <summary>A gateway with a last say over its builder (a log provider of the test's, say).</summary>
    public static async Task<GatewayHost> StartAsync(Action<WebApplicationBuilder>? configure, params (string Key, object Value)[] settings)
    {
        var args = new List<string> { "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning" };
        args.AddRange(settings.Select(s => $"--{s.Key}={Convert.ToString(s.Value, CultureInfo.InvariantCulture)}"));
        var app = GatewayApp.Create([.. args], configure);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new GatewayHost(app, new Uri(app.Urls.Single()));
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing with <paramref name="what"/> after the timeout.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}
