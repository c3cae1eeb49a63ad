using System.Globalization;
using MarketStream.Gateway;

namespace MarketStream.Client.Tests;

/// <summary>
/// A real gateway in this process, built by <see cref="GatewayApp"/> exactly as <c>Program</c> builds it, on
/// 127.0.0.1 and either a free port or a given one (to restart "the same" gateway).
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private int stopped;

    private TestGateway(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    /// <summary>The HTTP base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; }

    public int Port => Address.Port;

    public T Get<T>()
        where T : notnull => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<T>(App.Services);

    public static Task<TestGateway> StartAsync(params (string Key, object Value)[] settings) => StartAsync(0, settings);

    public static async Task<TestGateway> StartAsync(int port, params (string Key, object Value)[] settings)
    {
        var args = new List<string>
        {
            $"--urls=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning",

            // Tests stop gateways often; a drain spread over the default 10 s would only slow them down.
            "--Feed:Gateway:DrainSeconds=0",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={Convert.ToString(s.Value, CultureInfo.InvariantCulture)}"));
        var app = GatewayApp.Create([.. args]);
        await app.StartAsync().WaitAsync(Wait.Timeout);
        return new TestGateway(app, new Uri(app.Urls.Single()));
    }

    /// <summary>Stops the gateway (draining its clients with 1001) and frees its port; idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return;
        }

        await App.StopAsync().WaitAsync(Wait.Timeout);
        await App.DisposeAsync().AsTask().WaitAsync(Wait.Timeout);
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
